"""Region masks: label maps, boolean stacks, boxes and COCO run-length encoding.

A *label map* is the package's one representation of a set of regions: an ``int32`` HxW
array whose values are region indices ``0..N-1`` and ``-1`` where no region is.
"""
from __future__ import annotations

import numpy as np

from panda_plugin.core.errors import PandaInputError

#: Most pixels of an image or mask the package reads (16384 x 8192); sizes declared in files
#: are checked against it before anything is allocated.
MAX_PIXELS = 1 << 27
#: Smallest region, in pixels, the region proposers make (an 8x8 tile); on small images they
#: make fewer regions instead.
MIN_REGION_AREA = 64


def label_map_from_array(labels: np.ndarray, ignore: int | None = None) -> np.ndarray:
    """Turn any integer id image into a label map with contiguous indices.

    Regions are numbered by increasing original id, so the result is deterministic.

    Args:
        labels: HxW integer array, one id per region.
        ignore: An id that marks pixels outside every region (e.g. 0 for COCO panoptic void).

    Returns:
        int32 HxW label map with values ``-1..N-1``.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise PandaInputError(f'a label map must be HxW, got shape {labels.shape}')
    if not np.issubdtype(labels.dtype, np.integer) and labels.dtype != bool:
        raise PandaInputError(f'a label map must hold integers, got dtype {labels.dtype}')
    ids, inverse = np.unique(labels, return_inverse=True)
    inverse = inverse.reshape(labels.shape).astype(np.int32)
    if ignore is not None and ignore in ids:
        position = int(np.searchsorted(ids, ignore))
        inverse = np.where(inverse == position, -1, inverse - (inverse > position)).astype(np.int32)
    if inverse.max(initial=-1) < 0:
        raise PandaInputError('the label map holds no region (every pixel is ignored)')
    return inverse


def label_map_from_masks(masks: np.ndarray) -> np.ndarray:
    """Build a label map from an NxHxW stack of boolean masks.

    Args:
        masks: NxHxW boolean (or 0/1) array; masks must be non-empty and must not overlap.

    Returns:
        int32 HxW label map; mask ``i`` becomes region ``i``.
    """
    masks = np.asarray(masks)
    if masks.ndim != 3:
        raise PandaInputError(f'a mask stack must be NxHxW, got shape {masks.shape}')
    if masks.dtype != bool:
        if not np.isin(masks, (0, 1)).all():
            raise PandaInputError('mask stack values must be boolean or 0/1')
        masks = masks.astype(bool)
    areas = masks.reshape(len(masks), -1).sum(1)
    empty = np.flatnonzero(areas == 0)
    if empty.size:
        raise PandaInputError(f'masks {empty.tolist()} are empty; every mask needs at least one pixel')
    coverage = masks.sum(0)
    if (coverage > 1).any():
        raise PandaInputError(
            f'masks overlap on {int((coverage > 1).sum())} pixels; give disjoint masks '
            '(a partition) or a label map')
    labels = np.full(masks.shape[1:], -1, np.int32)
    for index, mask in enumerate(masks):
        labels[mask] = index
    return labels


def region_count(label_map: np.ndarray) -> int:
    """Number of regions in a label map."""
    return int(label_map.max(initial=-1)) + 1


def boxes_and_areas(label_map: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounding boxes ``[x, y, w, h]`` and pixel areas of every region.

    Measured from the runs of one label along each row (a few per region and row), so the
    pixels are read once.

    Args:
        label_map: int32 HxW label map.

    Returns:
        (boxes Nx4 int64, areas N int64); a region without pixels has an all-zero box.
    """
    labels = np.asarray(label_map)
    count = region_count(labels)
    boxes = np.zeros((count, 4), np.int64)
    width = labels.shape[1]
    flat = labels.ravel()
    # a run starts where the label changes and at the start of every row
    starts = np.empty(flat.size, bool)
    starts[:1] = True
    np.not_equal(flat[1:], flat[:-1], out=starts[1:])
    starts[::max(width, 1)] = True
    first = np.flatnonzero(starts)
    last = np.append(first[1:], flat.size) - 1
    runs = flat[first]
    inside = runs >= 0
    first, last, runs = first[inside], last[inside], runs[inside]
    areas = np.bincount(runs, weights=last - first + 1, minlength=count).astype(np.int64)
    if not runs.size:
        return boxes, areas
    # each region's runs together, in raster order: its first run has the top row, its last the bottom
    order = np.argsort(runs, kind='stable')
    first, last, runs = first[order], last[order], runs[order]
    heads = np.flatnonzero(np.r_[True, runs[1:] != runs[:-1]])
    tails = np.append(heads[1:], runs.size) - 1
    left = np.minimum.reduceat(first % width, heads)
    right = np.maximum.reduceat(last % width, heads) + 1
    top, bottom = first[heads] // width, last[tails] // width + 1
    boxes[runs[heads]] = np.stack([left, top, right - left, bottom - top], 1)
    return boxes, areas


def rle_encode(mask: np.ndarray) -> dict:
    """Encode a boolean HxW mask as COCO compressed RLE.

    Args:
        mask: HxW boolean array.

    Returns:
        ``{'size': [h, w], 'counts': str}`` as pycocotools writes it.
    """
    mask = np.asarray(mask, dtype=bool)
    flat = mask.ravel(order='F')
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0] + counts
    return {'size': [int(mask.shape[0]), int(mask.shape[1])], 'counts': _compress_counts(counts)}


def rle_size(rle: dict, image_size: tuple[int, int] | None = None) -> tuple[int, int]:
    """The ``(height, width)`` a COCO RLE object declares, checked before anything is decoded.

    Args:
        rle: ``{'size': [h, w], 'counts': ...}``.
        image_size: ``(height, width)`` the mask must have; not checked when None.

    Returns:
        ``(height, width)``: positive, at most ``MAX_PIXELS`` pixels, equal to ``image_size``.
    """
    try:
        size = rle['size']
        rle['counts']
        height, width = size
    except (KeyError, TypeError, ValueError) as error:
        raise PandaInputError(f'not a COCO RLE object (needs size [h, w] and counts): {error!r}') from None
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in (height, width)):
        raise PandaInputError(f'RLE size {size!r}; accepted: [h, w], two positive integers')
    height, width = int(height), int(width)
    if height * width > MAX_PIXELS:
        raise PandaInputError(f'RLE size {height}x{width} (HxW) is too large; accepted: at most '
                              f'{MAX_PIXELS} pixels')
    if image_size is not None and (height, width) != tuple(image_size):
        raise PandaInputError(f'RLE size {height}x{width} (HxW) but the image is '
                              f'{image_size[0]}x{image_size[1]}; accepted: masks of the image size')
    return height, width


def rle_decode(rle: dict, image_size: tuple[int, int] | None = None) -> np.ndarray:
    """Decode COCO RLE (compressed string or uncompressed list of counts) to a boolean mask.

    The declared size is checked (``rle_size``) before the mask is allocated.

    Args:
        rle: ``{'size': [h, w], 'counts': str | bytes | list[int]}``.
        image_size: ``(height, width)`` the mask must have; not checked when None.

    Returns:
        HxW boolean array.
    """
    height, width = rle_size(rle, image_size)
    pixels = height * width
    counts = rle['counts']
    if isinstance(counts, bytes):
        try:
            counts = counts.decode('ascii')
        except UnicodeDecodeError:
            raise PandaInputError('RLE counts bytes are not ASCII; accepted: a COCO counts string') from None
    # Explicit bounds before any allocation: at most 2*h*w + 1 runs (zero-length runs included),
    # each of 0..h*w pixels, so the sum stays below 2**56 and cannot wrap around in int64.
    runs = 2 * pixels + 1
    if isinstance(counts, list) and len(counts) > runs:
        raise PandaInputError(f'RLE counts hold {len(counts)} entries for {pixels} pixels; accepted: at most '
                              f'2*h*w + 1')
    if isinstance(counts, str) and len(counts) > runs * _digits(pixels):
        raise PandaInputError(f'RLE counts string of {len(counts)} characters for {pixels} pixels; accepted: at '
                              f'most {runs * _digits(pixels)}')
    if isinstance(counts, str):
        counts = _decompress_counts(counts, pixels)
    if not isinstance(counts, list) or not all(isinstance(c, (int, np.integer)) and not isinstance(c, bool)
                                               for c in counts):
        raise PandaInputError('RLE counts must be a string or a list of integers')
    if any(not 0 <= c <= pixels for c in counts):
        bad = next(int(c) for c in counts if not 0 <= c <= pixels)
        raise PandaInputError(f'RLE count {bad} is outside 0..h*w = {pixels}')
    counts = np.asarray(counts, dtype=np.int64)
    if int(counts.sum()) != pixels:
        raise PandaInputError(f'RLE counts sum to {int(counts.sum())}, expected h*w = {pixels}')
    values = np.arange(len(counts)) % 2 == 1
    flat = np.repeat(values, counts)
    return flat.reshape((height, width), order='F')


def label_map_from_rles(rles: list, image_size: tuple[int, int] | None = None) -> np.ndarray:
    """Build a label map from COCO RLE objects without holding more than one mask at a time.

    Every declared size is checked before any mask is decoded.

    Args:
        rles: RLE objects of one image; masks must be non-empty and must not overlap.
        image_size: ``(height, width)`` the masks must have; not checked when None.

    Returns:
        int32 HxW label map; mask ``i`` becomes region ``i``.
    """
    sizes = sorted({rle_size(rle, image_size) for rle in rles})
    if len(sizes) != 1:
        raise PandaInputError(f'masks have different sizes {sizes}; accepted: masks of one image')
    labels = np.full(sizes[0], -1, np.int32)
    overlapped = np.zeros(sizes[0], bool)
    empty = []
    for index, rle in enumerate(rles):
        mask = rle_decode(rle)
        if not mask.any():
            empty.append(index)
        overlapped |= mask & (labels >= 0)
        labels[mask & (labels < 0)] = index
    if empty:
        raise PandaInputError(f'masks {empty} are empty; every mask needs at least one pixel')
    if overlapped.any():
        raise PandaInputError(
            f'masks overlap on {int(overlapped.sum())} pixels; give disjoint masks '
            '(a partition) or a label map')
    return labels


def _compress_counts(counts: list[int]) -> str:
    chars = []
    for index, value in enumerate(counts):
        if index > 2:
            value -= counts[index - 2]
        more = True
        while more:
            chunk = value & 0x1F
            value >>= 5
            more = value != -1 if chunk & 0x10 else value != 0
            if more:
                chunk |= 0x20
            chars.append(chr(chunk + 48))
    return ''.join(chars)


def _digits(pixels: int) -> int:
    """Most characters one number of a counts string for ``pixels`` pixels takes (5 bits each,
    with the sign bit and the difference to the count two places back)."""
    return (pixels.bit_length() + 2) // 5 + 1


def _decompress_counts(text: str, pixels: int) -> list[int]:
    """COCO's counts string as integers; a number longer than ``_digits(pixels)`` characters is
    refused as soon as it passes that length, before it can grow without limit."""
    limit_shift = 5 * _digits(pixels)
    counts: list[int] = []
    position = 0
    while position < len(text):
        value = shift = 0
        more = True
        while more:
            if position >= len(text):
                raise PandaInputError('RLE counts string ends in the middle of a number')
            chunk = ord(text[position]) - 48
            value |= (chunk & 0x1F) << shift
            more = bool(chunk & 0x20)
            position += 1
            shift += 5
            if shift > limit_shift:
                raise PandaInputError(f'RLE counts string holds a number beyond h*w = {pixels}')
            if not more and chunk & 0x10:
                value |= -1 << shift
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value)
    return counts
