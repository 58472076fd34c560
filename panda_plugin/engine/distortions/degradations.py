"""Signal degradations: gaussian blur, gaussian noise, film grain, JPEG compression,
pixelation and oversharpening.

Every function takes an HxWx3 float32 RGB image in [0, 1] and returns a new float32 image
in [0, 1]. Lengths (``sigma``, ``block``) are in pixels of the array given; the resolution
rule that turns table values into pixels lives in ``registry``.
"""
from __future__ import annotations

import cv2
import numpy as np


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Blur with an isotropic gaussian (borders reflected).

    Args:
        image: HxWx3 float32 RGB image in [0, 1].
        sigma: Standard deviation of the kernel, in pixels.

    Returns:
        The float32 result in [0, 1].
    """
    blurred = cv2.GaussianBlur(image, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)
    return np.clip(blurred, 0.0, 1.0, out=blurred)


def gaussian_noise(image: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Add independent gaussian noise to every pixel and channel.

    Args:
        image: HxWx3 float32 RGB image in [0, 1].
        sigma: Standard deviation of the noise on the [0, 1] scale.
        rng: Source of the noise.

    Returns:
        The float32 result in [0, 1].
    """
    noisy = rng.standard_normal(image.shape, dtype=np.float32)
    noisy *= np.float32(sigma)
    noisy += image
    return np.clip(noisy, 0.0, 1.0, out=noisy)


#: Standard deviation (pixels) of the gaussian that correlates film grain.
GRAIN_SIZE = 0.8
#: Share of the grain's variance common to the three channels (the rest is per channel).
GRAIN_MONO = 0.8


def film_grain(image: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Add film-like grain: gaussian noise correlated over about ``GRAIN_SIZE`` pixels, mostly
    common to the three channels.

    Args:
        image: HxWx3 float32 RGB image in [0, 1].
        sigma: Standard deviation of the grain in every channel, on the [0, 1] scale.
        rng: Source of the grain.

    Returns:
        The float32 result in [0, 1].
    """
    height, width = image.shape[:2]
    fields = rng.standard_normal((height, width, 4), dtype=np.float32)
    fields = cv2.GaussianBlur(fields, (0, 0), GRAIN_SIZE, borderType=cv2.BORDER_REFLECT_101)
    fields /= np.maximum(fields.std(axis=(0, 1)), 1e-6)
    grain = np.sqrt(GRAIN_MONO) * fields[..., :1] + np.sqrt(1 - GRAIN_MONO) * fields[..., 1:]
    grained = image + np.float32(sigma) * grain
    return np.clip(grained, 0.0, 1.0, out=grained)


def jpeg_compress(image: np.ndarray, quality: int) -> np.ndarray:
    """Encode as JPEG (4:2:0, OpenCV's libjpeg) and decode again.

    Args:
        image: HxWx3 float32 RGB image in [0, 1].
        quality: JPEG quality, 1 (worst) to 100.

    Returns:
        The decoded float32 image in [0, 1].
    """
    bgr = np.ascontiguousarray(np.clip(image[:, :, ::-1] * 255.0 + 0.5, 0, 255).astype(np.uint8))
    ok, encoded = cv2.imencode('.jpg', bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError('OpenCV failed to encode a JPEG image')
    decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    return decoded[:, :, ::-1].astype(np.float32) / np.float32(255.0)


def pixelate(image: np.ndarray, block: int) -> np.ndarray:
    """Replace every ``block`` x ``block`` cell by its mean colour.

    This is a downscale by ``1 / block`` (area average) followed by a nearest-neighbour
    upscale. Cells start at the top-left corner; partial cells at the right and bottom edges
    average the pixels they hold plus copies of the last row/column.

    Args:
        image: HxWx3 float32 RGB image in [0, 1].
        block: Cell side in pixels (at least 1).

    Returns:
        The float32 result in [0, 1].
    """
    height, width = image.shape[:2]
    rows, cols = -(-height // block), -(-width // block)
    padded = np.pad(image, ((0, rows * block - height), (0, cols * block - width), (0, 0)),
                    mode='edge')
    small = cv2.resize(padded, (cols, rows), interpolation=cv2.INTER_AREA)
    large = cv2.resize(small, (cols * block, rows * block), interpolation=cv2.INTER_NEAREST)
    return np.ascontiguousarray(large.reshape(rows * block, cols * block, 3)[:height, :width])


def oversharpen(image: np.ndarray, amount: float, sigma: float) -> np.ndarray:
    """Unsharp masking with a large gain: ``x + amount * (x - blur(x, sigma))``.

    Args:
        image: HxWx3 float32 RGB image in [0, 1].
        amount: Gain of the high-pass detail.
        sigma: Standard deviation of the gaussian that defines the detail, in pixels.

    Returns:
        The float32 result in [0, 1].
    """
    sharpened = image - gaussian_blur(image, sigma)
    sharpened *= np.float32(amount)
    sharpened += image
    return np.clip(sharpened, 0.0, 1.0, out=sharpened)
