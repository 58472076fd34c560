"""Region texture against a reference: how well each region's texture statistics match.

Fidelity (``engine.fidelity``) asks whether a restored region has the reference's pixels;
texture asks whether it has the reference's *kind* of texture. A region whose detail was
resampled (a plausible grass that is not the reference's grass) keeps a high texture score;
a region that lost its texture (blur, smoothing), gained texture the reference does not have
(noise, grain on a sky) or took on a compression block grid loses it.

The measure is STSIM-like and has no learned weights:

- both images (at ``WORK_SIZE`` pixels on the long side at most) are split into luma and two
  opponent colour channels (red-green, yellow-blue), and each channel into a small oriented
  pyramid: ``SCALES`` octaves (binomial blur, 2x decimation), at each octave four oriented
  two-tap differences (horizontal, vertical, two diagonals);
- statistics are pooled over each region at each octave, from the 2x2 pixel blocks that lie
  wholly inside it (the label map decimated with the image): per luma subband its standard
  deviation and its horizontal and vertical neighbour correlations, per colour channel its
  subband energy, and, at full resolution, the share of the luma difference energy that
  falls across the lines of an 8-pixel block grid (``grid``, the trace of block-based
  compression);
- each statistic of the restored region is compared with the reference's by a bounded
  similarity: ``(2 a b + C) / (a^2 + b^2 + C)`` for standard deviations and energies,
  ``1 - |r_a - r_b| / 2`` for correlations (the mean of both directions), and the grid
  share only where the restored region has more of it than the reference;
- the similarities form families (``FAMILIES``): luma spread and colour energy per octave
  (mean over the four orientations), structure (the correlations of the two finest octaves)
  and grid. A region's score is its lowest family: texture is only as good as its
  worst-matched aspect, while the small deviations that a resampled texture shows in every
  statistic do not add up. Octaves where a region has fewer than ``MIN_PIXELS`` blocks are
  left out.

It is exactly 1 for a region whose pixels are identical in both images and differentiable
in the restored image (finite gradients everywhere; the minimum passes the gradient of the
lowest family).
"""
from __future__ import annotations

import numpy as np
import torch

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.masks import region_count
from panda_plugin.engine.panda.reference_inputs import LUMA, ReferenceInputs, mix, reference_inputs
from panda_plugin.engine.panda.region_sums import RegionSums

#: Octaves of the oriented pyramid (differences at 1, 2, 4 and 8 pixels).
SCALES = 4
#: Variance floor of the luma subbands (on [0, 1] luma): a standard deviation of 0.005,
#: about the rounding noise of 8-bit images, counts as no texture.
VARIANCE_FLOOR = 0.005 ** 2
#: Energy floor of the colour subbands: colour texture below 0.02 is not compared.
COLOUR_FLOOR = 0.02 ** 2
#: Floor of the grid-share term (shares are about 1/8 without a block grid).
GRID_FLOOR = 0.001
#: Period of the compression block grid, in pixels.
GRID = 8
#: Pixels per band of rows of an octave (``octave_statistics``): the allocator reuses a band's 4 MB of
#: maps, where a whole 512x512 octave's 17 MB were paged in afresh on every call (docs/speed.md).
BAND_PIXELS = 1 << 16
#: An octave takes part in a region's score when the region has at least this many whole
#: 2x2 blocks at that octave.
MIN_PIXELS = 16
#: Octaves whose neighbour correlations make up the ``structure`` family (coarser octaves
#: have too few pixels in a region for stable correlations).
STRUCTURE_SCALES = 2
#: The statistic families, in the order of ``texture_terms``' columns.
FAMILIES = tuple([f'luma{s}' for s in range(SCALES)] + [f'colour{s}' for s in range(SCALES)]
                 + ['structure', 'grid'])
#: Added under square roots so that gradients stay finite where a variance is 0.
_EPSILON = 1e-12
#: Luma and opponent colour channels from RGB (rows).
_OPPONENT = (LUMA, (1.0, -1.0, 0.0), (0.5, 0.5, -1.0))
#: The two pixels of the horizontal, vertical, diagonal and anti-diagonal differences of
#: the 2x2 block at a pixel, as (row, column) offsets.
_ORIENTATIONS = (((0, 0), (0, 1)), ((0, 0), (1, 0)), ((0, 0), (1, 1)), ((0, 1), (1, 0)))


def batch_texture(restored: torch.Tensor, reference: torch.Tensor, label_maps) -> list:
    """Texture scores of every region of a batch of restored images (``texture_of``).

    Args:
        restored: Bx3xHxW images in [0, 1] (values outside are clipped).
        reference: Bx3xHxW references.
        label_maps: B label maps (BxHxW tensor or sequence of HxW arrays).

    Returns:
        One float64 tensor of region scores in [0, 1] per image, differentiable in
        ``restored``; 1 exactly for regions identical in both images.
    """
    return texture_of(reference_inputs(restored, reference, label_maps))


def texture_of(inputs: ReferenceInputs) -> list:
    """Texture scores of every region of a prepared batch: its lowest family (``terms_of``).

    Args:
        inputs: The batch (``reference_inputs``).

    Returns:
        One float64 tensor of region scores in [0, 1] per image, differentiable in the
        restored images; 1 exactly for regions identical in both images.
    """
    results = []
    for terms, identical in zip(terms_of(inputs), inputs.identical):
        score = terms.min(1).values.clamp(0.0, 1.0)
        results.append(torch.where(identical, torch.ones_like(score), score))
    return results


def region_texture(restored: torch.Tensor, reference: torch.Tensor, label_map: np.ndarray) -> torch.Tensor:
    """Texture score of every region of one restored image.

    Args:
        restored: 3xHxW (or 1x3xHxW) image in [0, 1].
        reference: Its reference, same shape.
        label_map: HxW integer label map.

    Returns:
        N float64 scores in [0, 1], differentiable in ``restored``.
    """
    restored = restored[None] if restored.dim() == 3 else restored
    reference = reference[None] if reference.dim() == 3 else reference
    label_map = np.asarray(label_map)
    if label_map.shape != tuple(restored.shape[-2:]):
        raise PandaInputError(f'label map {label_map.shape} does not match image {tuple(restored.shape[-2:])}')
    return batch_texture(restored, reference, [label_map])[0]


def texture_terms(restored: torch.Tensor, reference: torch.Tensor, label_maps) -> list:
    """The similarity of every statistic family of every region (``terms_of``).

    Args:
        restored: Bx3xHxW images in [0, 1].
        reference: Bx3xHxW references.
        label_maps: B label maps (BxHxW tensor or sequence of HxW arrays).

    Returns:
        One NxF float64 tensor per image, columns in the order of ``FAMILIES``.
    """
    return terms_of(reference_inputs(restored, reference, label_maps))


def terms_of(inputs: ReferenceInputs) -> list:
    """The similarity of every statistic family of every region of a prepared batch (before
    pooling).

    Args:
        inputs: The batch (``reference_inputs``).

    Returns:
        One NxF float64 tensor per image, columns in the order of ``FAMILIES``; a family a
        region is too small for is 1.
    """
    batch, work, device = inputs.batch, inputs.work, inputs.work.device
    channels = opponent(work)
    results = []
    for index, label_map in enumerate(inputs.label_maps):
        count = region_count(label_map)
        current = channels[index::batch]  # the restored image and its reference
        labels = _labels_at(label_map, current.shape[-2:], device)
        columns = {name: torch.ones(count, dtype=torch.float64, device=device) for name in FAMILIES}
        structure = []
        for scale in range(SCALES):
            if scale:
                if min(current.shape[-2:]) < 8:
                    break
                current = _downsample(current)
                labels = labels[1::2, 1::2][:current.shape[-2], :current.shape[-1]]
            blocks = _block_labels(labels, count)
            stats = octave_statistics(current, blocks, count, scale < STRUCTURE_SCALES,
                                      grid=inputs.luma is None and not scale)
            present = stats['count'] >= MIN_PIXELS
            for name, value in octave_similarity(stats).items():
                value = torch.where(present, value, torch.ones_like(value))
                if name == 'structure':
                    structure.append(value)
                elif name == 'grid':
                    columns[name] = value
                else:
                    columns[f'{name}{scale}'] = value
        columns['structure'] = torch.stack(structure).mean(0)
        if inputs.luma is not None:
            # the block grid at full resolution: only the luma's horizontal and vertical differences
            blocks = _block_labels(_labels_at(label_map, label_map.shape, device), count)
            columns['grid'] = _grid_similarity(grid_share(inputs.luma[index::batch], blocks, count)).double()
        results.append(torch.stack([columns[name] for name in FAMILIES], 1))
    return results


def opponent(images: torch.Tensor) -> torch.Tensor:
    """Luma, red-green and yellow-blue channels of Bx3xHxW sRGB images."""
    return mix(images, _OPPONENT)


def octave_statistics(channels: torch.Tensor, blocks: torch.Tensor, count: int, structure: bool,
                      grid: bool) -> dict:
    """Per-region statistics of the oriented differences of one octave of a pair.

    The four differences at a pixel (horizontal, vertical and the two diagonals) are taken
    in the 2x2 block whose top-left corner it is; the last two rows and columns, whose
    blocks or neighbour blocks leave the image, are left out. Differences have about zero
    mean over a region, so their mean square stands for their variance. The octave is
    measured in bands of rows (``BAND_PIXELS``) whose sums are added.

    Args:
        channels: 2xCxhxw octave of the pair (restored, reference): luma first, then any
            colour channels.
        blocks: (h-2)x(w-2) region index of each pixel's 2x2 block (``_block_labels``).
        count: Number of regions N.
        structure: Also measure the luma neighbour correlations.
        grid: Also measure the luma block-grid energy share (``GRID``).

    Returns:
        ``count`` (N blocks) and, first dimension the pair: ``variance`` (2xNx4 luma
        orientations), ``colour`` (2xNx(C-1)), with ``structure`` ``horizontal`` and
        ``vertical`` (2xN correlations, all orientations together), with ``grid`` ``grid``
        (2xN shares).
    """
    height, width = blocks.shape
    colours = channels.shape[1] - 1
    # whole grid periods per band, so that every band's grid lines fall where the octave's do
    rows = max(GRID, BAND_PIXELS // max(width, 1) // GRID * GRID)
    bands = [_band_sums(channels[..., top:top + rows + 2, :], blocks[top:top + rows], count, structure, grid)
             for top in range(0, max(height, 1), rows)]  # one (empty) band for an image without blocks
    sums, counts = (sum(band[part] for band in bands) for part in (0, 1))
    means = sums / counts.clamp(min=1)[:, None]
    # the colour energies are summed over the orientations: their mean (a division by 4 is exact)
    stats = {'count': counts, 'variance': means[..., :4],
             'colour': means[..., 4:4 + colours] / len(_ORIENTATIONS)}
    if structure:
        energy = means[..., :4].sum(-1) + 4 * VARIANCE_FLOOR
        stats['horizontal'] = means[..., 4 + colours] / energy
        stats['vertical'] = means[..., 5 + colours] / energy
    if grid:
        stats['grid'] = _grid_ratio(sum(band[2] for band in bands), sums[..., 0] + sums[..., 1], counts)
    return stats


def _band_sums(channels: torch.Tensor, blocks: torch.Tensor, count: int, structure: bool, grid: bool) -> tuple:
    """Per-region sums of the moments of one band of rows of an octave (``octave_statistics``).

    Args:
        channels: 2xCx(r+2)xw rows of the octave: the band's r rows and the two below them.
        blocks: rx(w-2) region index of the band's blocks.
        count: Number of regions N.
        structure: Also sum the luma neighbour products.
        grid: Also sum the squared differences across the block grid's lines.

    Returns:
        (2xNxK sums of the moments ``octave_statistics`` averages, N block counts, with
        ``grid`` the 2xN sums across the grid's lines, else None).
    """
    height, width = blocks.shape
    colours = channels.shape[1] - 1
    # every moment map is written into one stack as it is made (no list of maps and its concatenation held)
    moments = channels.new_empty(2, 4 + colours + 2 * structure, height, width)
    # with structure the luma differences cover one more row and column, so that the
    # neighbours' differences are slices of them
    wide = [_difference(channels[:, :1], *pair, margin=1 if structure else 2) for pair in _ORIENTATIONS]
    luma = [band[..., :height, :width] for band in wide]
    for index, band in enumerate(luma):
        moments[:, index:index + 1] = band * band
    energy = moments[:, 4:4 + colours]
    first = _difference(channels[:, 1:], *_ORIENTATIONS[0])
    energy[:] = first * first
    for pair in _ORIENTATIONS[1:]:
        band = _difference(channels[:, 1:], *pair)
        energy.addcmul_(band, band)
    if structure:
        for row, (dy, dx) in enumerate(((0, 1), (1, 0)), start=4 + colours):
            correlation = moments[:, row:row + 1]
            correlation[:] = luma[0] * wide[0][..., dy:dy + height, dx:dx + width]
            for band, neighbour in zip(luma[1:], wide[1:]):
                correlation.addcmul_(band, neighbour[..., dy:dy + height, dx:dx + width])
    sums, counts = _pool(moments, blocks, count)
    across = _grid_sums(moments[:, :1], moments[:, 1:2], blocks, count) if grid else None
    return sums, counts, across


def grid_share(luma: torch.Tensor, blocks: torch.Tensor, count: int) -> torch.Tensor:
    """The block-grid share of ``octave_statistics`` alone, from the horizontal and vertical
    luma differences only (what a full-resolution pair needs when the other statistics come
    from its work-size copy).

    Args:
        luma: 2x1xhxw luma of the pair.
        blocks: (h-2)x(w-2) region index of each pixel's 2x2 block (``_block_labels``).
        count: Number of regions N.

    Returns:
        2xN shares.
    """
    horizontal, vertical = (_difference(luma, *pair).square_() for pair in _ORIENTATIONS[:2])
    across = _grid_sums(horizontal, vertical, blocks, count)
    total, counts = _pool(horizontal.add_(vertical), blocks, count)
    return _grid_ratio(across, total[..., 0], counts)


def _grid_sums(horizontal: torch.Tensor, vertical: torch.Tensor, index: torch.Tensor, count: int) -> torch.Tensor:
    """Per-region sums of the squared differences that cross the lines of the ``GRID`` block grid:
    the horizontal ones on the grid's columns, the vertical ones on its rows.

    Args:
        horizontal: 2x1xhxw squared horizontal luma differences of the pair.
        vertical: 2x1xhxw squared vertical luma differences.
        index: hxw region index of each pixel (``count``: none).
        count: Number of regions N.

    Returns:
        2xN sums.
    """
    lines = slice(GRID - 1, None, GRID)
    values = torch.cat([horizontal[:, 0, :, lines].flatten(1), vertical[:, 0, lines, :].flatten(1)], 1)
    return RegionSums(torch.cat([index[:, lines].flatten(), index[lines, :].flatten()]), count + 1)(values)[:, :count]


def _grid_ratio(across: torch.Tensor, total: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Grid share of each region from its summed moments (``_grid_moments``), floored."""
    floor = 2 * VARIANCE_FLOOR * counts
    return (across + floor / GRID) / (total + floor)


def _difference(channels: torch.Tensor, start: tuple, end: tuple, margin: int = 2) -> torch.Tensor:
    """``x[p + end] - x[p + start]`` at every pixel ``p`` of the top-left
    (h-margin)x(w-margin) area."""
    height, width = channels.shape[-2] - margin, channels.shape[-1] - margin
    (y0, x0), (y1, x1) = start, end
    return channels[..., y1:y1 + height, x1:x1 + width] - channels[..., y0:y0 + height, x0:x0 + width]


def octave_similarity(stats: dict) -> dict:
    """Per-region similarities of one octave (N float64 each): ``luma`` (spread) and
    ``colour`` (energy), averaged over their subbands, and, when measured, ``structure``
    (neighbour correlations) and ``grid`` (block-grid share, counted only where the restored
    region has more of it than the reference)."""
    spread = (stats['variance'] + _EPSILON).sqrt()
    colour = (stats['colour'] + _EPSILON).sqrt()
    result = {'luma': _similarity(*spread.unbind(0), VARIANCE_FLOOR).mean(1),
              'colour': _similarity(*colour.unbind(0), COLOUR_FLOOR).mean(1)}
    if 'horizontal' in stats:
        result['structure'] = (1 - ((stats['horizontal'][0] - stats['horizontal'][1]).abs()
                                    + (stats['vertical'][0] - stats['vertical'][1]).abs()) / 4).clamp(min=0)
    if 'grid' in stats:
        result['grid'] = _grid_similarity(stats['grid'])
    return {name: value.double() for name, value in result.items()}


def _grid_similarity(shares: torch.Tensor) -> torch.Tensor:
    """Similarity of the restored grid share to the reference's, counted only where the restored
    region has more of it (2xN shares to N)."""
    restored, reference = shares.unbind(0)
    return _similarity(torch.maximum(restored, reference), reference, GRID_FLOOR)


def _similarity(a: torch.Tensor, b: torch.Tensor, floor: float) -> torch.Tensor:
    return (2 * a * b + floor) / (a * a + b * b + floor)


def _pool(moments: torch.Tensor, index: torch.Tensor, count: int) -> tuple:
    """Per-region sums of 2xKxhxw moment maps over the pixels of an hxw region index
    (``count``: none).

    Returns:
        (2xNxK sums, N pixel counts).
    """
    index = index.reshape(-1)
    flat = moments.reshape(-1, index.numel())
    sums = RegionSums(index, count + 1)(flat)
    counts = torch.bincount(index, minlength=count + 1)[:count].to(flat.dtype)
    return sums[:, :count].view(2, -1, count).transpose(1, 2), counts


def _block_labels(labels: torch.Tensor, count: int) -> torch.Tensor:
    """Region index of each pixel when its 2x2 block (it, right, below, below right) lies wholly
    inside that region, ``count`` (no region) otherwise, for the pixels whose block and neighbour
    blocks lie in the image (the top-left (h-2)x(w-2) area, as ``octave_statistics`` uses it)."""
    corner = labels[:-2, :-2]
    whole = ((labels[:-2, 1:-1] == corner) & (labels[1:-1, :-2] == corner) & (labels[1:-1, 1:-1] == corner)
             & (corner >= 0))
    return torch.where(whole, corner, count)


def _downsample(images: torch.Tensor) -> torch.Tensor:
    """Binomial (1, 2, 1) blur and 2x decimation: ``avg_pool2d(avg_pool2d(x, 2, stride=1), 2)``
    written as sums of slices (the same up to float rounding, many times faster on CPU)."""
    pairs = images[..., :, :-1] + images[..., :, 1:]
    width = pairs.shape[-1] // 2 * 2
    rows = pairs[..., :, 0:width:2] + pairs[..., :, 1:width:2]
    pairs = rows[..., :-1, :] + rows[..., 1:, :]
    height = pairs.shape[-2] // 2 * 2
    return (pairs[..., 0:height:2, :] + pairs[..., 1:height:2, :]) / 16


def _labels_at(label_map: np.ndarray, size, device) -> torch.Tensor:
    labels = torch.as_tensor(np.asarray(label_map, np.int32), device=device)
    if tuple(labels.shape) == tuple(size):
        return labels
    rows = ((torch.arange(size[0], device=device) + 0.5) * labels.shape[0] / size[0]).long()
    cols = ((torch.arange(size[1], device=device) + 0.5) * labels.shape[1] / size[1]).long()
    return labels[rows][:, cols]
