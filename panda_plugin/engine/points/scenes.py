"""Scenes with exact panoptic ground truth for click-prompted regions.

Three kinds, drawn with one seeded generator:

* ``procedural``: two or three stuff areas (sky, ground, ...) split by wavy lines, under
  flat, striped, checked or noisy shapes (things);
* ``dead_leaves``: overlapping shapes stacked like fallen leaves, each filled with a texture cut
  from a photograph; the bottom leaf covers the image and is stuff;
* ``copy_paste``: shaped patches of photographs pasted over a photograph background (stuff).

Every pixel belongs to exactly one instance; instances smaller than ``MIN_AREA`` of the image
are removed (the scene is redrawn without them), so every instance is clickable. One click per
instance is sampled uniformly among its pixels at least ``CLICK_MARGIN`` pixels inside it (any
of its pixels when it is thinner), not only at its centre.
"""
from __future__ import annotations

import cv2
import numpy as np

KINDS = ('procedural', 'dead_leaves', 'copy_paste')
#: Smallest instance, as a fraction of the image area.
MIN_AREA = 0.006
#: Clicks are sampled at least this many pixels inside their instance when it allows.
CLICK_MARGIN = 3


def make_scene(rng: np.random.Generator, size: int, kind: str, photos: list) -> dict:
    """Draw one scene.

    Args:
        rng: Seeded generator (the scene depends only on its state).
        size: Side of the square scene, in pixels.
        kind: One of ``KINDS``.
        photos: HxWx3 uint8 photographs to cut textures and patches from (at least one).

    Returns:
        Dict with ``image`` (size x size x 3 uint8), ``panoptic`` (int32 instance ids
        ``0..N-1`` covering every pixel), ``stuff`` (N bool), ``points`` (Nx2 int (x, y)
        clicks, click ``i`` inside instance ``i``) and ``kind``.
    """
    if kind == 'procedural':
        layers = _procedural_layers(rng, size)
    elif kind == 'dead_leaves':
        layers = _leaf_layers(rng, size, photos)
    elif kind == 'copy_paste':
        layers = _paste_layers(rng, size, photos)
    else:
        raise ValueError(f'unknown scene kind {kind!r}')
    image, panoptic, stuff = _compose(layers, size)
    noise = rng.normal(0, rng.uniform(0, 4), image.shape)
    image = np.clip(image.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    return {'image': image, 'panoptic': panoptic, 'stuff': stuff,
            'points': sample_points(rng, panoptic), 'kind': kind}


def sample_points(rng: np.random.Generator, panoptic: np.ndarray, margin: int = CLICK_MARGIN) -> np.ndarray:
    """One click per instance, uniform over the instance's pixels ``margin`` inside it.

    Args:
        rng: Seeded generator.
        panoptic: int instance ids ``0..N-1``.
        margin: Distance from the instance border, in pixels (relaxed for thin instances).

    Returns:
        Nx2 int64 (x, y) clicks.
    """
    count = int(panoptic.max()) + 1
    points = np.zeros((count, 2), np.int64)
    for index in range(count):
        mask = (panoptic == index).astype(np.uint8)
        inner = cv2.distanceTransform(np.pad(mask, 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
        for level in (margin, 0.5):
            rows, cols = np.nonzero(inner >= level)
            if len(rows):
                break
        pick = int(rng.integers(len(rows)))
        points[index] = (cols[pick], rows[pick])
    return points


def _compose(layers: list, size: int) -> tuple:
    """Paint layers bottom to top, dropping instances too small to see; renumber in order."""
    smallest = MIN_AREA * size * size
    while True:
        owner = np.full((size, size), -1, np.int32)
        for index, (mask, _, _) in enumerate(layers):
            owner[mask] = index
        areas = np.bincount(owner.ravel(), minlength=len(layers))
        tiny = [i for i in range(1, len(layers)) if areas[i] < smallest]
        if not tiny:
            break
        layers = [layer for i, layer in enumerate(layers) if i not in tiny[-1:]]
    image = np.zeros((size, size, 3), np.uint8)
    for index, (_, fill, _) in enumerate(layers):
        chosen = owner == index
        image[chosen] = fill[chosen]
    present = [i for i in range(len(layers)) if areas[i] > 0]
    lookup = np.full(len(layers), -1, np.int32)
    lookup[present] = np.arange(len(present), dtype=np.int32)
    return image, lookup[owner], np.array([layers[i][2] for i in present], bool)


def _shape_mask(rng: np.random.Generator, size: int, scale: tuple) -> np.ndarray:
    """A random ellipse, polygon or blob of about ``scale`` (fractions of the side)."""
    mask = np.zeros((size, size), np.uint8)
    centre = rng.integers(0, size, 2)
    radius = max(3, int(size * rng.uniform(*scale)))
    shape = int(rng.integers(3))
    if shape == 0:
        axes = (radius, max(2, int(radius * rng.uniform(0.4, 1.0))))
        cv2.ellipse(mask, (int(centre[0]), int(centre[1])), axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    elif shape == 1:
        count = int(rng.integers(3, 8))
        angles = np.sort(rng.uniform(0, 2 * np.pi, count))
        radii = radius * rng.uniform(0.5, 1.0, count)
        corners = centre + np.stack([np.cos(angles) * radii, np.sin(angles) * radii], 1)
        cv2.fillPoly(mask, [corners.astype(np.int32)], 1)
    else:
        side = 2 * radius + 1
        field = cv2.GaussianBlur(rng.standard_normal((side, side)).astype(np.float32), (0, 0), radius / 3)
        yy, xx = np.mgrid[-radius:radius + 1, -radius:radius + 1] / radius
        blob = (field / (field.std() + 1e-6) + 2.0 * (1 - (xx ** 2 + yy ** 2))) > 1.0
        top, left = centre[1] - radius, centre[0] - radius
        rows = slice(max(0, top), min(size, top + side))
        cols = slice(max(0, left), min(size, left + side))
        mask[rows, cols] = blob[rows.start - top:rows.stop - top, cols.start - left:cols.stop - left]
    return mask.astype(bool)


def _pattern(rng: np.random.Generator, size: int) -> np.ndarray:
    """A size x size x 3 float fill: flat, gradient, stripes, checks or smooth noise."""
    colour = rng.uniform(0, 255, 3)
    other = np.clip(colour + rng.normal(0, 60, 3), 0, 255)
    yy, xx = np.mgrid[0:size, 0:size] / size
    angle = rng.uniform(0, np.pi)
    along = np.cos(angle) * xx + np.sin(angle) * yy
    kind = int(rng.integers(5))
    if kind == 0:
        weight = np.zeros_like(xx)
    elif kind == 1:
        weight = (along - along.min()) / max(float(np.ptp(along)), 1e-6)
    elif kind == 2:
        weight = 0.5 + 0.5 * np.sign(np.sin(2 * np.pi * rng.uniform(4, 16) * along))
    elif kind == 3:
        frequency = rng.uniform(3, 10)
        weight = 0.5 + 0.5 * np.sign(np.sin(2 * np.pi * frequency * xx) * np.sin(2 * np.pi * frequency * yy))
    else:
        noise = cv2.GaussianBlur(rng.standard_normal((size, size)).astype(np.float32), (0, 0), rng.uniform(1, 4))
        weight = np.clip(0.5 + noise / (3 * noise.std() + 1e-6), 0, 1)
    return colour + (other - colour) * weight[..., None]


def _photo_crop(rng: np.random.Generator, size: int, photos: list) -> np.ndarray:
    """A random square crop of a random photograph, resized to size x size."""
    photo = photos[int(rng.integers(len(photos)))]
    height, width = photo.shape[:2]
    side = int(rng.uniform(0.25, 1.0) * min(height, width))
    top, left = int(rng.integers(height - side + 1)), int(rng.integers(width - side + 1))
    crop = photo[top:top + side, left:left + side]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    return cv2.resize(np.ascontiguousarray(crop), (size, size), interpolation=cv2.INTER_AREA)


def _stuff_areas(rng: np.random.Generator, size: int, fills: list) -> list:
    """Full-image stuff layers split by wavy, roughly horizontal lines."""
    layers = [(np.ones((size, size), bool), fills[0], True)]
    xs = np.arange(size)
    for index, fill in enumerate(fills[1:], start=1):
        level = size * rng.uniform(0.25, 0.8)
        wave = level + size * 0.08 * np.sin(2 * np.pi * (rng.uniform(0.5, 2) * xs / size + rng.uniform(0, 1)))
        tilt = rng.uniform(-0.3, 0.3) * (xs - size / 2)
        mask = np.arange(size)[:, None] > (wave + tilt)[None, :]
        if index == 2:
            mask = mask[::-1]
        layers.append((mask, fill, True))
    return layers


def _procedural_layers(rng: np.random.Generator, size: int) -> list:
    layers = _stuff_areas(rng, size, [_pattern(rng, size) for _ in range(int(rng.integers(1, 4)))])
    for _ in range(int(rng.integers(3, 12))):
        layers.append((_shape_mask(rng, size, (0.06, 0.25)), _pattern(rng, size), False))
    return layers


def _leaf_layers(rng: np.random.Generator, size: int, photos: list) -> list:
    layers = [(np.ones((size, size), bool), _photo_crop(rng, size, photos).astype(np.float32), True)]
    for _ in range(int(rng.integers(5, 16))):
        layers.append((_shape_mask(rng, size, (0.08, 0.3)), _photo_crop(rng, size, photos), False))
    return layers


def _paste_layers(rng: np.random.Generator, size: int, photos: list) -> list:
    backgrounds = [_photo_crop(rng, size, photos) for _ in range(int(rng.integers(1, 3)))]
    layers = _stuff_areas(rng, size, backgrounds)
    for _ in range(int(rng.integers(2, 9))):
        patch = _photo_crop(rng, size, photos).astype(np.float32)
        patch = np.clip(patch * rng.uniform(0.7, 1.3) + rng.uniform(-30, 30), 0, 255)
        layers.append((_shape_mask(rng, size, (0.08, 0.28)), patch, False))
    return layers
