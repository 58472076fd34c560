"""PSPS-style geodesic click distance: shortest paths on the pixel grid with colour-edge costs.

Every pixel joins the click it reaches along the cheapest 8-connected path. Stepping onto a
pixel costs ``1 + edge_weight * e ** power``, where ``e`` is the Sobel gradient magnitude of
the smoothed Lab image divided by its 90th percentile, so paths avoid crossing colour edges (as in
PSPS, whose edge cost adds a Sobel term of the Lab image to feature differences). One
multi-source run of ``skimage.graph.MCP_Geometric`` gives every pixel's cheapest path; its
traceback is followed by pointer doubling to the click that started the path.
"""
from __future__ import annotations

import cv2
import numpy as np
from skimage.graph import MCP_Geometric

from panda_plugin.engine.image_io import tensor_to_rgb8
from panda_plugin.engine.points.scaling import full_size_labels, working_clicks, working_copy

#: Defaults, chosen on 100 scenes of the training distribution (``points_val``, see
#: docs/points.md): PQ 36.2 with ``power=1``, 50.0 with 2, 54.7 with 3 (``edge_weight=1000``).
EDGE_WEIGHT, POWER, SMOOTHING = 1000.0, 3.0, 1.0
#: Long side of the grid the click paths are found on.
WORK_SIZE = 256


def edge_cost(image: np.ndarray, edge_weight: float = EDGE_WEIGHT, power: float = POWER,
              smoothing: float = SMOOTHING) -> np.ndarray:
    """Per-pixel cost of the geodesic paths.

    Args:
        image: HxWx3 uint8 RGB.
        edge_weight: Weight of the normalised Lab gradient. Default: 1000.
        power: Exponent of the normalised gradient. Default: 3.
        smoothing: Gaussian sigma (pixels) before the gradient. Default: 1.

    Returns:
        float64 HxW costs, at least 1.
    """
    lab = cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)
    if smoothing > 0:
        lab = cv2.GaussianBlur(lab, (0, 0), smoothing)
    gx = cv2.Sobel(lab, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(lab, cv2.CV_32F, 0, 1, ksize=3)
    magnitude = np.sqrt((gx ** 2 + gy ** 2).sum(axis=2))
    scale = max(float(np.percentile(magnitude, 90)), 1e-3)
    return 1.0 + edge_weight * (magnitude / scale).astype(np.float64) ** power


def geodesic_regions(image: np.ndarray, xy: np.ndarray, edge_weight: float = EDGE_WEIGHT,
                     power: float = POWER, work_size: int = WORK_SIZE) -> np.ndarray:
    """Label every pixel with the click of its cheapest path.

    Args:
        image: HxWx3 uint8 RGB.
        xy: Nx2 integer (x, y) clicks, distinct and inside the image.
        edge_weight: See ``edge_cost``. Default: 1000.
        power: See ``edge_cost``. Default: 3.
        work_size: Long side of the copy the paths are found on. Default: 256.

    Returns:
        int32 HxW label map; pixel labels are click indices ``0..N-1``.
    """
    small, scale = working_copy(image, work_size)
    small_xy = working_clicks(xy, scale, small.shape[:2])
    labels = shortest_path_labels(edge_cost(small, edge_weight, power), small_xy)
    return full_size_labels(labels, image.shape[:2], xy)


def shortest_path_labels(cost: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Nearest click under geodesic distance on an 8-connected grid.

    Args:
        cost: HxW positive per-pixel costs.
        xy: Nx2 distinct (x, y) clicks inside the grid.

    Returns:
        int32 HxW click indices.
    """
    height, width = cost.shape
    mcp = MCP_Geometric(cost, fully_connected=True)
    _, traceback = mcp.find_costs([(int(y), int(x)) for x, y in xy])
    offsets = np.asarray(mcp.offsets, np.int64)
    flat_offsets = offsets[:, 0] * width + offsets[:, 1]
    steps = traceback.ravel().astype(np.int64)
    index = np.arange(height * width)
    parent = np.where(steps >= 0, index - flat_offsets[np.maximum(steps, 0)], index)
    for _ in range(64):  # pointer doubling: log2 of the longest path
        grand = parent[parent]
        if np.array_equal(grand, parent):
            break
        parent = grand
    seeds = np.full(height * width, -1, np.int32)
    seeds[xy[:, 1] * width + xy[:, 0]] = np.arange(len(xy), dtype=np.int32)
    return seeds[parent].reshape(height, width)


def geodesic_distances(image: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Geodesic distance maps, one per click, as ``log(1 + cost / side)``.

    The logarithm is increasing, so the nearest click of every pixel is the one
    ``shortest_path_labels`` picks.

    Args:
        image: hxwx3 uint8 RGB (already at working size).
        xy: Kx2 (x, y) clicks inside it.

    Returns:
        float32 Kxhxw distances.
    """
    cost = edge_cost(image)
    side = max(image.shape[:2])
    maps = np.empty((len(xy), *image.shape[:2]), np.float32)
    for index, (x, y) in enumerate(np.asarray(xy).tolist()):
        cumulative, _ = MCP_Geometric(cost, fully_connected=True).find_costs([(int(y), int(x))])
        maps[index] = np.log1p(cumulative / side)
    return maps


def batch_geodesic_distances(images, points, valid):
    """``geodesic_distances`` of a batch, as a padded tensor.

    Args:
        images: Bx3xHxW tensor in [0, 1].
        points: BxKx2 float (x, y) clicks.
        valid: BxK bool.

    Returns:
        BxKxHxW float tensor (zeros for padding clicks) on the images' device.
    """
    import torch

    batch, count = valid.shape
    pictures = tensor_to_rgb8(images)
    out = np.zeros((batch, count, *pictures.shape[1:3]), np.float32)
    height, width = pictures.shape[1:3]
    for index in range(batch):
        keep = valid[index].cpu().numpy()
        xy = points[index].detach().cpu().numpy().round().astype(np.int64)
        xy[:, 0] = xy[:, 0].clip(0, width - 1)
        xy[:, 1] = xy[:, 1].clip(0, height - 1)
        if keep.any():
            out[index, keep] = geodesic_distances(pictures[index], xy[keep])
    return torch.from_numpy(out).to(images.device)
