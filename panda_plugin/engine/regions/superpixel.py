"""Colour-coherent regions from SLIC superpixels merged by Ward linkage in Lab space."""
from __future__ import annotations

import cv2
import numpy as np
from skimage.segmentation import slic

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.masks import MIN_REGION_AREA
from panda_plugin.engine.image_io import load_image

#: SLIC is asked for this many times ``n_regions`` superpixels before merging.
_OVERSEGMENT = 2.5
#: Gaussian blur (sigma in working pixels) applied before SLIC, so fine texture does not
#: fragment superpixels.
_SMOOTHING = 1.0
#: SLIC runs at most this many times, doubling compactness after each run that yields fewer
#: than ``n_regions`` superpixels (busy texture makes SLIC's connectivity step swallow them).
_ATTEMPTS = 4


class SuperpixelSegmenter:
    """Split an image into about ``n_regions`` connected regions of similar colour.

    The image is shrunk so its long side is ``work_size`` and over-segmented with SLIC
    (after a light blur, and again with rounder superpixels if busy texture leaves fewer
    than ``n_regions``). Adjacent superpixels are then merged greedily: first every region
    smaller than ``min_area`` joins its most similar neighbour (while more than
    ``min_regions`` remain), then the pair of adjacent regions whose merge adds the least Lab
    colour variance (Ward linkage, which favours small regions) is merged until at most
    ``n_regions`` remain. The label map is brought back to full size by nearest-neighbour
    indexing, so every region stays 4-connected and every pixel belongs to a region. Region
    areas are measured as they will be at full size, so ``min_area`` holds on the output.

    No region is smaller than ``MIN_REGION_AREA`` (64) pixels: on small images the region
    counts are capped at one region per 64 pixels (a 32x32 image gets at most 16 regions, an
    image under 128 pixels a single one) and regions below 64 pixels are always merged.

    The output has between ``min_regions`` and ``n_regions`` regions (after that cap), except
    for images so small that SLIC finds fewer than ``min_regions`` superpixels. Regions are
    numbered by their first pixel in raster order, and the same image always gives the same
    label map.

    Args:
        n_regions: Most regions in the output. Default: 24.
        min_regions: Fewest regions that merging may leave. Default: 8.
        max_regions: Upper bound accepted for ``n_regions``. Default: 40.
        work_size: Long side, in pixels, of the copy that is segmented; smaller images are
            segmented at their own size. Default: 256.
        min_area: Smallest region, as a fraction of the image area. Default: 0.005.
        compactness: SLIC trade-off between colour and spatial proximity; larger values
            give rounder superpixels. Default: 10.
    """

    def __init__(self, n_regions: int = 24, min_regions: int = 8, max_regions: int = 40,
                 work_size: int = 256, min_area: float = 0.005, compactness: float = 10.0):
        if not 1 <= min_regions <= n_regions <= max_regions:
            raise PandaInputError(
                f'superpixel region counts min_regions={min_regions}, n_regions={n_regions}, '
                f'max_regions={max_regions}; accepted: 1 <= min_regions <= n_regions <= max_regions')
        if work_size < 16:
            raise PandaInputError(f'superpixel work_size={work_size}; accepted: 16 or more pixels')
        if not 0 <= min_area * min_regions <= 1:
            raise PandaInputError(
                f'superpixel min_area={min_area}; accepted: 0 <= min_area <= 1/min_regions '
                f'({1 / min_regions:.3g})')
        if compactness <= 0:
            raise PandaInputError(f'superpixel compactness={compactness}; accepted: a positive number')
        self.n_regions = n_regions
        self.min_regions = min_regions
        self.max_regions = max_regions
        self.work_size = work_size
        self.min_area = min_area
        self.compactness = compactness

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Segment one image.

        Args:
            image: HxWx3 uint8 RGB array.

        Returns:
            int32 HxW label map with regions ``0..N-1`` covering every pixel.
        """
        image = load_image(image, min_side=1)
        height, width = image.shape[:2]
        most = min(self.n_regions, max(1, height * width // MIN_REGION_AREA))
        fewest = min(self.min_regions, most)
        scale = min(1.0, self.work_size / max(height, width))
        small_size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = image if scale == 1 else cv2.resize(image, small_size, interpolation=cv2.INTER_AREA)
        lab = cv2.cvtColor(small.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)
        rows = _nearest_indices(height, small.shape[0])
        cols = _nearest_indices(width, small.shape[1])
        # Full-size pixels that each working pixel stands for.
        weights = np.outer(np.bincount(rows), np.bincount(cols)).astype(np.float64)

        merged = self._merge(self._oversegment(small, most), lab, weights, most, fewest)
        return np.take(merged[rows], cols, axis=1)

    def _oversegment(self, small: np.ndarray, n_regions: int) -> np.ndarray:
        """SLIC superpixels, retried with rounder shapes while texture leaves too few."""
        compactness = self.compactness
        for _ in range(_ATTEMPTS):
            superpixels = slic(small, n_segments=round(_OVERSEGMENT * n_regions),
                               compactness=compactness, sigma=_SMOOTHING, convert2lab=True,
                               enforce_connectivity=True, start_label=0, channel_axis=-1)
            if superpixels.max() + 1 >= n_regions:
                break
            compactness *= 2
        return _first_appearance(superpixels)

    def _merge(self, labels: np.ndarray, lab: np.ndarray, weights: np.ndarray, n_regions: int,
               min_regions: int) -> np.ndarray:
        count = int(labels.max()) + 1
        flat, flat_weights = labels.ravel(), weights.ravel()
        areas = np.bincount(flat, weights=flat_weights, minlength=count)
        sums = np.stack([np.bincount(flat, weights=flat_weights * lab[..., channel].ravel(),
                                     minlength=count) for channel in range(3)], axis=1)
        adjacent = np.zeros((count, count), bool)
        for first, second in ((labels[:, :-1], labels[:, 1:]), (labels[:-1], labels[1:])):
            differ = first != second
            adjacent[first[differ], second[differ]] = True
        adjacent |= adjacent.T
        alive = np.ones(count, bool)
        root = np.arange(count)
        min_pixels = self.min_area * areas.sum()

        remaining = count
        while remaining > 1 and adjacent.any():
            means = sums / areas[:, None]
            colour = np.square(means[:, None, :] - means[None, :, :]).sum(axis=2)
            smallest = max(min_pixels, MIN_REGION_AREA) if remaining > min_regions else MIN_REGION_AREA
            too_small = alive & (areas < smallest)
            if too_small.any():
                keep = int(np.flatnonzero(too_small)[np.argmin(areas[too_small])])
                neighbours = np.flatnonzero(adjacent[keep])
                gone = int(neighbours[np.argmin(colour[keep, neighbours])])
            elif remaining > n_regions:
                ward = areas[:, None] * areas[None, :] / (areas[:, None] + areas[None, :]) * colour
                keep, gone = np.unravel_index(np.argmin(np.where(adjacent, ward, np.inf)), ward.shape)
                keep, gone = int(keep), int(gone)
            else:
                break
            keep, gone = min(keep, gone), max(keep, gone)
            areas[keep] += areas[gone]
            sums[keep] += sums[gone]
            adjacent[keep] |= adjacent[gone]
            adjacent[:, keep] = adjacent[keep]
            adjacent[keep, keep] = False
            adjacent[gone] = adjacent[:, gone] = False
            alive[gone] = False
            root[root == gone] = keep
            remaining -= 1
        return _first_appearance(root[labels])


def _nearest_indices(full: int, small: int) -> np.ndarray:
    """Index of the working row (or column) nearest to each full-size row (or column)."""
    return np.minimum(((np.arange(full) + 0.5) * small / full).astype(np.int64), small - 1)


def _first_appearance(labels: np.ndarray) -> np.ndarray:
    """Renumber labels ``0..N-1`` in order of their first pixel in raster order."""
    ids, first = np.unique(labels, return_index=True)
    lookup = np.zeros(int(ids.max()) + 1, np.int32)
    lookup[ids[np.argsort(first)]] = np.arange(len(ids), dtype=np.int32)
    return lookup[labels]
