"""The simplest click distance: every pixel joins its nearest click in the image plane."""
from __future__ import annotations

import numpy as np
from scipy import ndimage


def euclidean_regions(image_size: tuple[int, int], xy: np.ndarray) -> np.ndarray:
    """Label every pixel with the index of its nearest click (a Voronoi partition).

    Args:
        image_size: ``(height, width)``.
        xy: Nx2 integer (x, y) clicks, distinct and inside the image.

    Returns:
        int32 HxW label map; pixel labels are click indices ``0..N-1``.
    """
    height, width = image_size
    seeds = np.zeros((height, width), np.int32)
    seeds[xy[:, 1], xy[:, 0]] = np.arange(1, len(xy) + 1)
    _, (rows, cols) = ndimage.distance_transform_edt(seeds == 0, return_indices=True)
    return seeds[rows, cols] - 1
