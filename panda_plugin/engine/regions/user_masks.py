"""Regions given by the user: label maps, mask stacks, label-map and panoptic PNGs, COCO RLE."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.json_files import read_json
from panda_plugin.core.masks import label_map_from_array, label_map_from_masks, label_map_from_rles
from panda_plugin.engine.image_io import declared_size, decode_file, load_image

_ACCEPTED = ('an HxW integer label map, an NxHxW boolean mask stack, or a path to a '
             'label-map PNG (8/16-bit, one channel), a COCO panoptic PNG (RGB) or a COCO RLE '
             'JSON file')


def load_masks(source, image_size: tuple[int, int] | None = None) -> np.ndarray:
    """Read user-supplied regions into a label map.

    Accepted sources:

    * an HxW integer array: every distinct value is a region, numbered by increasing value,
      except ``-1``, which marks pixels outside every region (so label maps round trip);
    * an NxHxW boolean (or 0/1) stack of disjoint, non-empty masks: mask ``i`` is region ``i``;
    * a path to a single-channel 8- or 16-bit PNG/TIFF label map: every distinct value
      (0 included) is a region;
    * a path to a COCO panoptic PNG (RGB, segment id ``R + 256*G + 256**2*B``): id 0 is void
      and belongs to no region;
    * a path to a COCO RLE JSON file: a list of RLE objects, a list of annotations with an RLE
      ``segmentation``, or a dict with an ``annotations`` list; masks must be disjoint and
      non-empty, and become regions in file order.

    Args:
        source: One of the sources above.
        image_size: ``(height, width)`` the masks must have; not checked when None. A file's
            declared size is checked against it (and against ``masks.MAX_PIXELS``) before the
            masks are decoded.

    Returns:
        int32 HxW label map with values ``-1..N-1``.
    """
    if isinstance(source, (str, os.PathLike)):
        labels = _read_file(Path(source), image_size)
    elif isinstance(source, np.ndarray) and source.ndim == 2:
        labels = label_map_from_array(source, ignore=-1)
    elif isinstance(source, np.ndarray) and source.ndim == 3:
        labels = label_map_from_masks(source)
    else:
        kind = f'array of shape {source.shape}' if isinstance(source, np.ndarray) else type(source).__name__
        raise PandaInputError(f'cannot read masks from a {kind}; accepted: {_ACCEPTED}')
    if image_size is not None:
        _check_size(labels, image_size)
    return labels


class MaskSegmenter:
    """Segmenter that returns the same user-supplied regions for every image.

    The masks are read once, when the segmenter is made.

    Args:
        source: Anything ``load_masks`` accepts.
    """

    def __init__(self, source):
        self.labels = load_masks(source)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Return the masks for an image of the same size.

        Args:
            image: HxWx3 uint8 RGB array whose size matches the masks.

        Returns:
            int32 HxW label map (a copy).
        """
        _check_size(self.labels, load_image(image, min_side=1).shape[:2])
        return self.labels.copy()


def _check_size(labels: np.ndarray, image_size: tuple[int, int]) -> None:
    if tuple(labels.shape) != tuple(image_size):
        raise PandaInputError(
            f'masks are {labels.shape[0]}x{labels.shape[1]} (HxW) but the image is '
            f'{image_size[0]}x{image_size[1]}; accepted: masks of the image size')


def _read_file(path: Path, image_size: tuple[int, int] | None) -> np.ndarray:
    if path.suffix.lower() == '.json' and path.is_file():
        return _read_rle_json(path, image_size)
    declared = declared_size(path) if path.is_file() else None
    if image_size is not None and declared is not None and declared != tuple(image_size):
        raise PandaInputError(
            f'mask file {str(path)!r} is {declared[0]}x{declared[1]} (HxW) but the image is '
            f'{image_size[0]}x{image_size[1]}; accepted: masks of the image size')
    decoded = decode_file(path, 'mask', _ACCEPTED)
    if decoded.ndim == 2 and decoded.dtype in (np.uint8, np.uint16):
        return label_map_from_array(decoded)
    if decoded.ndim == 3 and decoded.shape[2] == 3 and decoded.dtype == np.uint8:
        blue, green, red = (decoded[..., channel].astype(np.int32) for channel in range(3))
        return _with_path(label_map_from_array, path, red + 256 * green + 65536 * blue, ignore=0)
    raise PandaInputError(
        f'mask file {str(path)!r} holds a {decoded.dtype} image with '
        f'{1 if decoded.ndim == 2 else decoded.shape[2]} channel(s); accepted: {_ACCEPTED}')


def _read_rle_json(path: Path, image_size: tuple[int, int] | None) -> np.ndarray:
    content = read_json(path, 'mask file')
    if isinstance(content, dict) and 'annotations' in content:
        content = content['annotations']
    if not isinstance(content, list) or not content:
        raise PandaInputError(
            f'mask file {str(path)!r} holds no masks; accepted: a non-empty list of COCO RLE '
            "objects or annotations, or a dict with an 'annotations' list")
    rles = []
    for index, item in enumerate(content):
        rle = item.get('segmentation', item) if isinstance(item, dict) else item
        if not isinstance(rle, dict):
            raise PandaInputError(
                f'mask {index} in {str(path)!r} is a {type(rle).__name__}, not an RLE object '
                "(polygons are not accepted); accepted: {'size': [h, w], 'counts': ...}")
        rles.append(rle)
    return _with_path(label_map_from_rles, path, rles, image_size)


def _with_path(function, path: Path, *args, **kwargs):
    """Call a mask function, naming the file in any input error it raises."""
    try:
        return function(*args, **kwargs)
    except PandaInputError as error:
        raise PandaInputError(f'mask file {str(path)!r}: {error}') from None
