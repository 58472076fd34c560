"""Pictures of click regions: regions tinted and outlined over the image, clicks numbered."""
from __future__ import annotations

import colorsys

import cv2
import numpy as np


def region_colours(count: int) -> np.ndarray:
    """Distinct RGB colours, one per region (golden-ratio hues).

    Args:
        count: Number of regions.

    Returns:
        count x 3 uint8 array.
    """
    hues = (np.arange(count) * 0.618033988749895) % 1.0
    return np.array([[round(255 * c) for c in colorsys.hsv_to_rgb(h, 0.75, 0.95)] for h in hues],
                    np.uint8).reshape(-1, 3)


def render_click_regions(image: np.ndarray, label_map: np.ndarray, xy: np.ndarray,
                         alpha: float = 0.45) -> np.ndarray:
    """Draw click regions over an image.

    Args:
        image: HxWx3 uint8 RGB.
        label_map: HxW int label map, region ``i`` for click ``i``.
        xy: Nx2 (x, y) clicks.
        alpha: Opacity of the region tint. Default: 0.45.

    Returns:
        HxWx3 uint8 RGB picture: tinted regions, white outlines, numbered click markers.
    """
    colours = region_colours(max(int(label_map.max()) + 1, len(xy)))
    tint = colours[np.clip(label_map, 0, None)]
    picture = (image.astype(np.float32) * (1 - alpha) + tint.astype(np.float32) * alpha).astype(np.uint8)
    border = np.zeros(label_map.shape, bool)
    border[:, 1:] |= label_map[:, 1:] != label_map[:, :-1]
    border[1:] |= label_map[1:] != label_map[:-1]
    picture[border] = 255
    radius = max(3, round(max(image.shape[:2]) / 120))
    scale = max(0.35, max(image.shape[:2]) / 900)
    for index, (x, y) in enumerate(np.asarray(xy).tolist()):
        colour = tuple(int(c) for c in colours[index])
        cv2.circle(picture, (x, y), radius + 2, (0, 0, 0), -1, cv2.LINE_AA)
        cv2.circle(picture, (x, y), radius, colour, -1, cv2.LINE_AA)
        text = str(index + 1)
        origin = (x + radius + 2, y - radius - 2)
        cv2.putText(picture, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(picture, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return picture
