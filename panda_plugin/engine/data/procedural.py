"""Procedurally generated images: seeded scenes of shapes, gradients and textures."""
from __future__ import annotations

import cv2
import numpy as np


def procedural_image(seed: int, size: int = 384) -> np.ndarray:
    """Draw a seeded synthetic scene with smooth areas, edges, fine texture and colour.

    Args:
        seed: Seed of the scene; the same seed always gives the same image.
        size: Side of the square image in pixels. Default: 384.

    Returns:
        ``size`` x ``size`` x 3 uint8 RGB array.
    """
    rng = np.random.default_rng(seed)
    grid = np.linspace(0.0, 1.0, size, dtype=np.float32)
    yy, xx = np.meshgrid(grid, grid, indexing='ij')
    low, high = rng.uniform(0, 1, (2, 3))
    angle = rng.uniform(0, np.pi)
    ramp = np.cos(angle) * xx + np.sin(angle) * yy
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    canvas = low + (high - low) * ramp[..., None]
    for _ in range(int(rng.integers(6, 14))):
        canvas = _paint_shape(canvas, rng, xx, yy)
    image = np.clip(canvas * 255.0, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(image)


def _paint_shape(canvas: np.ndarray, rng: np.random.Generator, xx: np.ndarray,
                 yy: np.ndarray) -> np.ndarray:
    size = canvas.shape[0]
    mask = np.zeros((size, size), np.uint8)
    center = rng.integers(0, size, 2)
    if rng.random() < 0.5:
        axes = rng.integers(size // 16, size // 3, 2)
        cv2.ellipse(mask, (int(center[0]), int(center[1])), (int(axes[0]), int(axes[1])),
                    float(rng.uniform(0, 180)), 0, 360, 1, -1)
    else:
        corners = center + rng.integers(-size // 3, size // 3, (int(rng.integers(3, 7)), 2))
        cv2.fillPoly(mask, [corners.astype(np.int32)], 1)
    colour = rng.uniform(0, 1, 3).astype(np.float32)
    pattern = _texture(rng, xx, yy)
    fill = colour * (0.75 + 0.25 * pattern[..., None])
    return np.where(mask[..., None].astype(bool), fill, canvas)


def _texture(rng: np.random.Generator, xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
    kind = int(rng.integers(0, 4))
    if kind == 0:
        return np.zeros_like(xx)
    if kind == 1:
        frequency = rng.uniform(8, 40)
        angle = rng.uniform(0, np.pi)
        return np.sin(2 * np.pi * frequency * (np.cos(angle) * xx + np.sin(angle) * yy))
    if kind == 2:
        frequency = rng.uniform(6, 24)
        return np.sign(np.sin(2 * np.pi * frequency * xx) * np.sin(2 * np.pi * frequency * yy))
    noise = rng.standard_normal(xx.shape).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), float(rng.uniform(1.0, 4.0)))
    return smooth / max(float(np.abs(smooth).max()), 1e-6)
