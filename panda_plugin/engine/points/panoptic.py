"""``PanopticSegmenter``: regions without clicks, from the second-stage segmenter.

``PanopticSegmenterNet`` (trained on click pseudo-labels) gives every pixel an embedding and a
boundary probability. The connected areas of interior pixels (boundary probability below
``boundary_threshold``) are instance candidates; candidates whose mean embeddings lie within
``bandwidth`` of each other (single linkage) are one instance, whose centre is the mean
embedding of its pixels. Every pixel then joins the nearest centre (embeddings upsampled
bilinearly), and the centre of the smallest region is dropped while a region is below the area
limit or there are more than ``max_regions``, so the label map covers every pixel with no empty
region.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage
from scipy.cluster.hierarchy import fcluster, linkage
from torch.nn import functional as F

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.masks import MIN_REGION_AREA, label_map_from_array
from panda_plugin.engine.image_io import load_image
from panda_plugin.engine.points.learned import load_point_model, network_inputs
from panda_plugin.engine.points.models.panoptic_arch import PanopticSegmenterNet
from panda_plugin.engine.points.scaling import full_size_labels

#: Name of the shipped weights (``panda_plugin/weights/panoptic-tiny.safetensors``).
DEFAULT_PANOPTIC_WEIGHTS = 'panoptic-tiny'
#: Long side of the grid the final assignment is made on (larger images take its labels by
#: nearest neighbour).
_LABEL_SIDE = 512
_NO_CLICKS = np.zeros((0, 2), np.int64)


def load_panoptic_model(weights=None) -> PanopticSegmenterNet:
    """A ``PanopticSegmenterNet`` with trained weights (shipped ``panoptic-tiny`` by default)."""
    return load_point_model(weights, PanopticSegmenterNet, DEFAULT_PANOPTIC_WEIGHTS)


def component_centres(embeddings: np.ndarray, boundary: np.ndarray, bandwidth: float,
                      boundary_threshold: float, min_seed: int) -> np.ndarray:
    """Instance centres from the connected interiors of a boundary map.

    Args:
        embeddings: HxWxE pixel embeddings.
        boundary: HxW boundary probabilities.
        bandwidth: Components whose mean embeddings are closer than this (single linkage) are
            one instance (an object split by an occluder, a stuff area on both sides of a thing).
        boundary_threshold: Interior pixels have a boundary probability below this.
        min_seed: Fewest pixels a component needs to count.

    Returns:
        KxE centres (K >= 1): the mean embedding of each merged group of components.
    """
    components, count = ndimage.label(boundary < boundary_threshold)
    sizes = np.bincount(components.ravel(), minlength=count + 1)
    kept = np.flatnonzero(sizes[1:] >= min_seed) + 1
    if len(kept) == 0:
        return embeddings.reshape(-1, embeddings.shape[-1]).mean(0, keepdims=True)
    flat = embeddings.reshape(-1, embeddings.shape[-1])
    sums = np.stack([np.bincount(components.ravel(), weights=flat[:, k], minlength=count + 1)
                     for k in range(flat.shape[1])], 1)[kept]
    means = sums / sizes[kept, None]
    groups = fcluster(linkage(means, 'single'), bandwidth, 'distance') if len(kept) > 1 else np.ones(1, int)
    return np.stack([sums[groups == g].sum(0) / sizes[kept][groups == g].sum() for g in np.unique(groups)])


def _assign(embeddings: torch.Tensor, centres: torch.Tensor) -> np.ndarray:
    """Index of the nearest centre for every pixel of ExHxW embeddings."""
    flat = embeddings.flatten(1).T
    return torch.cdist(flat, centres).argmin(1).view(embeddings.shape[1:]).numpy()


class PanopticSegmenter:
    """Class-agnostic instances and stuff regions of an image, without clicks.

    Args:
        weights: ``PanopticSegmenterNet``, shipped name or ``.safetensors`` path. Default:
            shipped ``panoptic-tiny``.
        max_regions: Most regions in the output. Default: 40.
        min_area: Smallest region, as a fraction of the image area (and never under
            ``MIN_REGION_AREA`` pixels). Default: 0.005.
        bandwidth: Embedding radius of a cluster. Default: 1.5 (the loss's ``dist_margin``).
        boundary_threshold: Boundary probability above which pixels seed no cluster. Default: 0.5.
    """

    def __init__(self, weights=None, max_regions: int = 40, min_area: float = 0.005,
                 bandwidth: float = 1.5, boundary_threshold: float = 0.5):
        if isinstance(max_regions, bool) or not isinstance(max_regions, int) or max_regions < 1:
            raise PandaInputError(f'panoptic max_regions={max_regions!r}; accepted: an integer of at least 1')
        if not 0 <= min_area < 1:
            raise PandaInputError(f'panoptic min_area={min_area!r}; accepted: 0 <= min_area < 1')
        if bandwidth <= 0 or not 0 < boundary_threshold <= 1:
            raise PandaInputError(f'panoptic bandwidth={bandwidth!r}, boundary_threshold={boundary_threshold!r}; '
                                  'accepted: bandwidth > 0 and 0 < boundary_threshold <= 1')
        self.network = load_panoptic_model(weights)
        self.max_regions, self.min_area = max_regions, min_area
        self.bandwidth, self.boundary_threshold = bandwidth, boundary_threshold

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Segment one image.

        Args:
            image: HxWx3 uint8 RGB (or anything ``image_io.load_image`` reads).

        Returns:
            int32 HxW label map with regions ``0..N-1`` (N >= 1) covering every pixel.
        """
        image = load_image(image, min_side=1)
        height, width = image.shape[:2]
        tensor, _ = network_inputs(self.network, image, _NO_CLICKS)
        with torch.inference_mode():
            embeddings, boundary = self.network(tensor)
        small = embeddings[0]
        side = min(1.0, _LABEL_SIDE / max(height, width))
        label_shape = (max(1, round(height * side)), max(1, round(width * side)))
        fine = F.interpolate(embeddings, size=label_shape, mode='bilinear', align_corners=False)[0]
        centres = torch.from_numpy(component_centres(
            small.permute(1, 2, 0).numpy(), torch.sigmoid(boundary[0, 0]).numpy(), self.bandwidth,
            self.boundary_threshold, min_seed=max(2, int(0.002 * small[0].numel())))).float()
        total = height * width
        smallest = max(MIN_REGION_AREA, self.min_area * total)
        # Cheap pass on the working grid, then exact areas at full size.
        centres, _ = self._prune(lambda c: _assign(small, c), centres, total / small[0].numel(), smallest)
        _, labels = self._prune(lambda c: full_size_labels(_assign(fine, c).astype(np.int32), (height, width),
                                                           _NO_CLICKS), centres, 1.0, smallest)
        return label_map_from_array(labels)

    def _prune(self, labels_of, centres: torch.Tensor, scale: float, smallest: float):
        """Drop the smallest region's centre until every region has at least ``smallest``
        full-size pixels (``scale`` of them per pixel of ``labels_of``) and at most
        ``max_regions`` remain (or one is left).

        Returns:
            (kept centres, their label map from ``labels_of``).
        """
        while True:
            labels = labels_of(centres)
            areas = np.bincount(labels.ravel(), minlength=len(centres)) * scale
            if len(centres) == 1 or (len(centres) <= self.max_regions and areas.min() >= smallest):
                return centres, labels
            keep = areas > 0  # centres that won no pixel go together
            if keep.all():
                keep[int(np.argmin(areas))] = False
            centres = centres[torch.from_numpy(keep)]
