"""Photometric distortions: brightness, contrast and saturation.

Every function works pixel by pixel on an HxWx3 float32 RGB image in [0, 1] and returns a
new float32 image in [0, 1]. They are written with plain elementwise numpy arithmetic (the
HSV edits in closed form, without a colour-space round trip), so a pixel's result depends
on that pixel alone, bit for bit: applying one to a crop gives exactly the same pixels as
applying it to the whole image.
"""
from __future__ import annotations

import numpy as np

#: Denominator floor that keeps divisions finite; it only acts where the numerator's
#: effect vanishes (black or grey pixels).
_TINY = np.float32(1e-12)


def _value(image: np.ndarray) -> np.ndarray:
    """HSV value ``max(R, G, B)`` as an HxWx1 array."""
    return np.maximum(np.maximum(image[:, :, 0], image[:, :, 1]), image[:, :, 2])[:, :, None]


def _floor(image: np.ndarray) -> np.ndarray:
    """``min(R, G, B)`` as an HxWx1 array."""
    return np.minimum(np.minimum(image[:, :, 0], image[:, :, 1]), image[:, :, 2])[:, :, None]


def shift_brightness(image: np.ndarray, delta: float) -> np.ndarray:
    """Add ``delta`` to the HSV value channel (hue and saturation are kept).

    With V = max(R, G, B), keeping hue and saturation means scaling the pixel by
    ``clip(V + delta) / V``; black pixels become the grey ``clip(delta)``.

    Args:
        image: HxWx3 float32 RGB image in [0, 1].
        delta: Change of V; positive brightens, negative darkens.

    Returns:
        The float32 result in [0, 1].
    """
    value = _value(image)
    target = np.clip(value + np.float32(delta), 0.0, 1.0)
    shifted = image * (target / np.maximum(value, _TINY))
    return np.clip(np.where(value > 0, shifted, target), 0.0, 1.0, out=shifted)


def scale_saturation(image: np.ndarray, factor: float) -> np.ndarray:
    """Multiply the HSV saturation by ``factor``, clipped at 1 (0 gives grey).

    Keeping hue and value, every channel moves along ``V - r (V - c)`` with
    ``r = min(factor, 1 / S)``, where V = max(R, G, B) and S = (V - min(R, G, B)) / V.

    Args:
        image: HxWx3 float32 RGB image in [0, 1].
        factor: Saturation multiplier; above 1 intensifies colours, below 1 fades them.

    Returns:
        The float32 result in [0, 1].
    """
    value = _value(image)
    ratio = np.minimum(np.float32(factor), value / np.maximum(value - _floor(image), _TINY))
    moved = value - image
    moved *= ratio
    np.subtract(value, moved, out=moved)
    return np.clip(moved, 0.0, 1.0, out=moved)


def scale_contrast(image: np.ndarray, factor: float) -> np.ndarray:
    """Stretch or squeeze every channel around mid-grey: ``0.5 + factor * (x - 0.5)``.

    The pivot is the fixed value 0.5, not the image mean, so the operation stays per-pixel.

    Args:
        image: HxWx3 float32 RGB image in [0, 1].
        factor: Contrast multiplier; above 1 increases contrast, below 1 decreases it.

    Returns:
        The float32 result in [0, 1].
    """
    return np.clip((image - 0.5) * np.float32(factor) + 0.5, 0.0, 1.0)
