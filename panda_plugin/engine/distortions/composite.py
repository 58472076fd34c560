"""Region-wise degradation: a distortion chain per region, hard-composited by mask.

Regions that share an identical chain are processed together: the chain runs once on the
crop of their union bounding box grown by a context margin (so blur, pixelation, streaks
and flakes near a region's border see the real neighbouring pixels), and the result is
pasted back only where the label map holds one of those regions. Crop origins are snapped
to a 16-pixel grid so JPEG blocks fall where they would for the whole image.

Randomness is per chain: its generator is derived from ``(seed, chain content)`` alone, so
the output depends only on the inputs and the seed, never on region order or grouping.
Spatial parameters use the resolution of the whole image, not of the crop.
"""
from __future__ import annotations

import logging
import math

import numpy as np

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.masks import boxes_and_areas, region_count
from panda_plugin.engine.distortions.registry import (
    chain_generator,
    check_image,
    check_seed,
    normalise_chain,
    resolution_scale,
    run_chain,
)

logger = logging.getLogger(__name__)

#: Context added around each crop, in reference pixels (scaled like other lengths).
CONTEXT_MARGIN = 32
#: Crop origins are multiples of this (the JPEG 4:2:0 block size).
CROP_GRID = 16


def _check_label_map(label_map, shape: tuple[int, int]) -> np.ndarray:
    if not isinstance(label_map, np.ndarray):
        raise PandaInputError(f'label map must be a numpy array, got {type(label_map).__name__}')
    if label_map.dtype == bool or not np.issubdtype(label_map.dtype, np.integer):
        raise PandaInputError(f'label map dtype {label_map.dtype}; accepted: an integer array')
    if label_map.shape != shape:
        raise PandaInputError(
            f'label map shape {label_map.shape} does not match the image ({shape[0]}, {shape[1]})')
    if label_map.size and int(label_map.min()) < -1:
        raise PandaInputError(
            f'label map value {int(label_map.min())}; accepted: -1 (no region) or 0..N-1')
    return label_map.astype(np.int32, copy=False)


def degrade_regions(image: np.ndarray, label_map: np.ndarray, chains, seed: int = 0) -> np.ndarray:
    """Degrade every region of an image with its own chain of distortions.

    Args:
        image: HxWx3 uint8 RGB image.
        label_map: HxW integer label map (``-1`` = no region, else region index 0..N-1).
        chains: One entry per region index (``len == N``); each a list of
            ``(distortion, severity)`` steps applied in order, severity 1..3 or
            ``'minor'``/``'moderate'``/``'severe'``. An empty list (or only ``clean`` /
            severity 0 steps) leaves the region's pixels exactly as they are.
        seed: Non-negative integer seed. Default: 0.

    Returns:
        New HxWx3 uint8 RGB image; pixels labelled ``-1`` are unchanged.
    """
    image = check_image(image)
    labels = _check_label_map(label_map, image.shape[:2])
    seed = check_seed(seed)
    count = region_count(labels)
    if not isinstance(chains, (list, tuple)) or len(chains) != count:
        length = len(chains) if isinstance(chains, (list, tuple)) else type(chains).__name__
        raise PandaInputError(
            f'chains has {length} entries; accepted: a list with one chain per region ({count})')
    groups: dict[tuple, list[int]] = {}
    for region, chain in enumerate(chains):
        steps = normalise_chain(chain, f'chain of region {region}')
        if steps:
            groups.setdefault(steps, []).append(region)
    result = image.copy()
    if not groups:
        return result
    boxes, areas = boxes_and_areas(labels)
    scale = resolution_scale(image.shape)
    margin = math.ceil(CONTEXT_MARGIN * scale)
    height, width = labels.shape
    group_of_label = np.full(count + 1, -1, np.int32)
    for index, regions in enumerate(groups.values()):
        group_of_label[np.asarray(regions) + 1] = index
    group_map = group_of_label[labels + 1]
    logger.debug('degrading %d regions in %d chain groups', count, len(groups))
    for index, (steps, regions) in enumerate(groups.items()):
        present = [region for region in regions if areas[region] > 0]
        if not present:
            continue
        x, y, w, h = (boxes[present, k] for k in range(4))
        x0 = max(0, int(x.min()) - margin) // CROP_GRID * CROP_GRID
        y0 = max(0, int(y.min()) - margin) // CROP_GRID * CROP_GRID
        x1 = min(width, int((x + w).max()) + margin)
        y1 = min(height, int((y + h).max()) + margin)
        degraded = run_chain(image[y0:y1, x0:x1], steps, chain_generator(seed, steps), scale)
        inside = group_map[y0:y1, x0:x1] == index
        result[y0:y1, x0:x1][inside] = degraded[inside]
    return result
