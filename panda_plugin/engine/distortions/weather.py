"""Synthetic weather: haze, rain and snow.

Every function takes an HxWx3 float32 RGB image in [0, 1] and a numpy Generator, and returns
a new float32 image in [0, 1]. All randomness comes from the generator, so a seeded generator
gives identical results. Lengths are in pixels of the array given; the resolution rule that
turns table values into pixels lives in ``registry``.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

#: Depth of the nearest point of the pseudo-depth map (the farthest is 1).
NEAREST_DEPTH = 0.3
#: Weight of the top-to-bottom ramp in the pseudo-depth map (the rest is the random field).
RAMP_WEIGHT = 0.6
#: Largest angle of rain streaks from the vertical, in degrees.
MAX_RAIN_SLANT = 25.0
#: Grey level that rain streaks blend towards.
RAIN_TONE = 0.92
#: Snow flake population: (flake size relative to the largest, share of the flakes).
FLAKE_MIX = ((0.35, 0.6), (0.65, 0.3), (1.0, 0.1))
#: Gain applied to the soft flake profile so flake centres become solid white.
FLAKE_GAIN = 1.6


def pseudo_depth(height: int, width: int, rng: np.random.Generator, cell: float) -> np.ndarray:
    """A smooth synthetic depth map in [``NEAREST_DEPTH``, 1], far at the top.

    It blends a vertical ramp (1 at the top row, 0 at the bottom) with a random field made
    by bicubic upsampling of uniform noise on a grid of ``cell``-pixel cells, so it has no
    edges and needs no real depth estimate.

    Args:
        height: Rows of the map.
        width: Columns of the map.
        rng: Source of the random field.
        cell: Side of the random field's grid cells, in pixels.

    Returns:
        HxW float32 depth map.
    """
    rows = max(2, math.ceil(height / cell) + 1)
    cols = max(2, math.ceil(width / cell) + 1)
    coarse = rng.random((rows, cols), dtype=np.float32)
    field = np.clip(cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC), 0.0, 1.0)
    ramp = np.linspace(1.0, 0.0, height, dtype=np.float32)[:, None]
    blend = RAMP_WEIGHT * ramp + (1.0 - RAMP_WEIGHT) * field.reshape(height, width)
    return (NEAREST_DEPTH + (1.0 - NEAREST_DEPTH) * blend).astype(np.float32)


def haze(image: np.ndarray, beta: float, airlight: float, rng: np.random.Generator,
         cell: float) -> np.ndarray:
    """Atmospheric scattering ``I * t + A * (1 - t)`` with ``t = exp(-beta * depth)``.

    Args:
        image: HxWx3 float32 RGB image in [0, 1].
        beta: Scattering coefficient; larger is denser haze.
        airlight: Grey level ``A`` of the atmospheric light.
        rng: Source of the pseudo-depth map (see ``pseudo_depth``).
        cell: Grid cell of the pseudo-depth random field, in pixels.

    Returns:
        The float32 result in [0, 1].
    """
    depth = pseudo_depth(image.shape[0], image.shape[1], rng, cell)
    transmission = np.exp(-np.float32(beta) * depth)[:, :, None]
    hazy = image * transmission + np.float32(airlight) * (1.0 - transmission)
    return np.clip(hazy, 0.0, 1.0, out=hazy)


def _scatter(height: int, width: int, count: int, low: float,
             rng: np.random.Generator) -> np.ndarray:
    """An HxW float32 map with ``count`` random pixels set to values in [low, 1)."""
    layer = np.zeros(height * width, np.float32)
    layer[rng.integers(0, height * width, count)] = rng.uniform(low, 1.0, count)
    return layer.reshape(height, width)


def _streak_kernel(length: float, angle: float, width: int) -> np.ndarray:
    """A float32 kernel holding an anti-aliased line through its centre (peak 1)."""
    size = max(3, math.ceil(length) | 1)
    canvas = np.zeros((size, size), np.uint8)
    shift = 4
    centre = (size - 1) / 2
    dx = 0.5 * (length - 1) * math.sin(math.radians(angle))
    dy = 0.5 * (length - 1) * math.cos(math.radians(angle))
    start = (round((centre - dx) * 2 ** shift), round((centre - dy) * 2 ** shift))
    end = (round((centre + dx) * 2 ** shift), round((centre + dy) * 2 ** shift))
    cv2.line(canvas, start, end, 255, width, cv2.LINE_AA, shift)
    return canvas.astype(np.float32) / np.float32(255.0)


def rain(image: np.ndarray, density: float, length: float, opacity: float,
         rng: np.random.Generator, width: int = 1) -> np.ndarray:
    """Rain streaks: sparse random drops smeared along one slanted direction.

    The slant is drawn from the generator (up to ``MAX_RAIN_SLANT`` degrees from vertical)
    and shared by all streaks; the streak layer blends the image towards ``RAIN_TONE``.

    Args:
        image: HxWx3 float32 RGB image in [0, 1].
        density: Drops per pixel.
        length: Streak length, in pixels.
        opacity: Blend weight of a full-strength streak.
        rng: Source of drop positions, strengths and the slant.
        width: Streak thickness, in pixels.

    Returns:
        The float32 result in [0, 1].
    """
    height, cols = image.shape[:2]
    count = max(1, round(density * height * cols))
    drops = _scatter(height, cols, count, 0.5, rng)
    kernel = _streak_kernel(length, float(rng.uniform(-MAX_RAIN_SLANT, MAX_RAIN_SLANT)), width)
    streaks = cv2.filter2D(drops, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    alpha = np.clip(streaks * np.float32(opacity), 0.0, opacity)[:, :, None]
    rainy = image + alpha * (RAIN_TONE - image)
    return np.clip(rainy, 0.0, 1.0, out=rainy)


def snow(image: np.ndarray, density: float, size: float, whiten: float,
         rng: np.random.Generator) -> np.ndarray:
    """Snow flakes of several sizes over a slightly whitened image.

    Flakes are soft discs (gaussian profiles with flattened tops); ``FLAKE_MIX`` sets how
    many small, medium and large flakes there are. The result is ``I' * (1 - m) + m`` where
    ``m`` is the flake mask and ``I'`` the image moved by ``whiten`` towards white.

    Args:
        image: HxWx3 float32 RGB image in [0, 1].
        density: Flakes per pixel.
        size: Radius-like size (gaussian sigma) of the largest flakes, in pixels.
        whiten: Fraction of the way every pixel moves towards white.
        rng: Source of flake positions and strengths.

    Returns:
        The float32 result in [0, 1].
    """
    height, width = image.shape[:2]
    mask = np.zeros((height, width), np.float32)
    for relative, share in FLAKE_MIX:
        sigma = max(0.5, size * relative)
        flakes = _scatter(height, width, max(1, round(density * share * height * width)), 0.6, rng)
        flakes = cv2.GaussianBlur(flakes, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
        np.maximum(mask, flakes * np.float32(2.0 * math.pi * sigma ** 2), out=mask)
    mask = np.clip(mask * np.float32(FLAKE_GAIN), 0.0, 1.0)[:, :, None]
    whitened = image + np.float32(whiten) * (1.0 - image)
    snowy = whitened * (1.0 - mask) + mask
    return np.clip(snowy, 0.0, 1.0, out=snowy)
