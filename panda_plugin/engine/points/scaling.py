"""Working copies for the click proposers: shrink an image, move clicks, grow labels back."""
from __future__ import annotations

import cv2
import numpy as np


def working_shape(shape: tuple[int, int], work_size: int) -> tuple[tuple[int, int], float]:
    """Size of the working copy of an image whose long side is at most ``work_size``.

    Args:
        shape: Full ``(height, width)``.
        work_size: Longest side of the copy.

    Returns:
        ((height, width) of the copy, scale), where scale is copy size over full size (1 for
        small images).
    """
    height, width = shape
    scale = min(1.0, work_size / max(height, width))
    if scale == 1.0:
        return (height, width), 1.0
    return (max(1, round(height * scale)), max(1, round(width * scale))), scale


def working_copy(image: np.ndarray, work_size: int) -> tuple[np.ndarray, float]:
    """Shrink an image so that its long side is at most ``work_size``.

    Args:
        image: HxWx3 uint8.
        work_size: Longest side of the copy.

    Returns:
        (copy, scale), where scale is copy size over full size (1 for small images).
    """
    (height, width), scale = working_shape(image.shape[:2], work_size)
    if scale == 1.0:
        return image, 1.0
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA), scale


def working_clicks(xy: np.ndarray, scale: float, shape: tuple[int, int]) -> np.ndarray:
    """Clicks moved to the working copy; clicks that land on one pixel are spread apart.

    Args:
        xy: Nx2 (x, y) full-size clicks.
        scale: From ``working_copy``.
        shape: ``(height, width)`` of the copy.

    Returns:
        Nx2 distinct int64 clicks inside the copy.
    """
    height, width = shape
    small = np.stack([np.clip(np.floor((xy[:, 0] + 0.5) * scale), 0, width - 1),
                      np.clip(np.floor((xy[:, 1] + 0.5) * scale), 0, height - 1)], 1).astype(np.int64)
    taken = set()
    for index, (x, y) in enumerate(small.tolist()):
        if (x, y) in taken:  # move to the nearest free pixel
            radius = 1
            while (x, y) in taken:
                free = [(x + dx, y + dy) for dy in range(-radius, radius + 1)
                        for dx in range(-radius, radius + 1)
                        if 0 <= x + dx < width and 0 <= y + dy < height and (x + dx, y + dy) not in taken]
                if free:
                    x, y = min(free, key=lambda p: (p[0] - small[index, 0]) ** 2 + (p[1] - small[index, 1]) ** 2)
                radius += 1
            small[index] = (x, y)
        taken.add((x, y))
    return small


def full_size_labels(labels: np.ndarray, shape: tuple[int, int], xy: np.ndarray) -> np.ndarray:
    """Working-copy labels brought to full size (nearest neighbour); every click keeps its
    own pixel, so every click has a non-empty region.

    Args:
        labels: hxw int32 click indices.
        shape: Full ``(height, width)``.
        xy: Nx2 full-size clicks.

    Returns:
        int32 HxW click indices.
    """
    height, width = shape
    if labels.shape != (height, width):
        rows = np.minimum(((np.arange(height) + 0.5) * labels.shape[0] / height).astype(np.int64),
                          labels.shape[0] - 1)
        cols = np.minimum(((np.arange(width) + 0.5) * labels.shape[1] / width).astype(np.int64),
                          labels.shape[1] - 1)
        labels = np.take(labels[rows], cols, axis=1)
    labels = np.ascontiguousarray(labels, np.int32)
    labels[xy[:, 1], xy[:, 0]] = np.arange(len(xy), dtype=np.int32)
    return labels
