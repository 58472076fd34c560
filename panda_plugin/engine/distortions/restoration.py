"""Outputs that look like what restoration methods produce, for training versions.

Each operation takes and returns an HxWx3 uint8 RGB image of the same size:

- ``rescale``: downscale by a factor (area average) and upscale back with nearest,
  bilinear, bicubic or Lanczos interpolation (what a naive super-resolution baseline gives);
- ``denoise``: classical denoisers (non-local means, bilateral, median, a guided filter
  built from box filters) applied to an image carrying gaussian noise;
- ``deblock``: the same filters applied to a JPEG-compressed image;
- ``sharpen_upscaled``: bicubic down/up-scaling followed by unsharp masking (ringing halos).

``restoration_input`` gives the degraded input a filter starts from, so callers can compare
the output's error with the input's (see ``versions``).
"""
from __future__ import annotations

import cv2
import numpy as np

from panda_plugin.engine.distortions.degradations import gaussian_noise, jpeg_compress, oversharpen
from panda_plugin.engine.distortions.registry import PARAMETERS, SHARPEN_SIGMA, resolution_scale

#: Interpolations of ``rescale``.
INTERPOLATIONS = {
    'nearest': cv2.INTER_NEAREST,
    'bilinear': cv2.INTER_LINEAR,
    'bicubic': cv2.INTER_CUBIC,
    'lanczos': cv2.INTER_LANCZOS4,
}
#: Filters of ``denoise`` and ``deblock``.
FILTERS = ('nlm', 'bilateral', 'median', 'guided')


def _float(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) / np.float32(255.0)


def _uint8(image: np.ndarray) -> np.ndarray:
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _resample(image: np.ndarray, factor: float, interpolation: int) -> np.ndarray:
    height, width = image.shape[:2]
    small = cv2.resize(image, (max(1, round(width / factor)), max(1, round(height / factor))),
                       interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (width, height), interpolation=interpolation)


def rescale(image: np.ndarray, factor: float, method: str) -> np.ndarray:
    """Downscale by ``factor`` (area average), upscale back with ``method``.

    Args:
        image: HxWx3 uint8 RGB.
        factor: Reduction factor (> 1).
        method: A key of ``INTERPOLATIONS``.

    Returns:
        HxWx3 uint8 RGB.
    """
    return _resample(image, factor, INTERPOLATIONS[method])


def guided_filter(image: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Self-guided filter (He et al.) of every channel, from box filters.

    Args:
        image: HxWx3 float32 in [0, 1].
        radius: Box radius in pixels.
        eps: Regularisation (a variance on the [0, 1] scale).

    Returns:
        HxWx3 float32.
    """
    size = (2 * radius + 1, 2 * radius + 1)

    def box(x):
        return cv2.boxFilter(x, -1, size, borderType=cv2.BORDER_REFLECT_101)

    mean = box(image)
    variance = box(image * image) - mean * mean
    a = variance / (variance + np.float32(eps))
    b = mean - a * mean
    return box(a) * image + box(b)


def apply_filter(image: np.ndarray, name: str, strength: float) -> np.ndarray:
    """One classical filter at a strength given as a noise sigma on the [0, 1] scale.

    Args:
        image: HxWx3 uint8 RGB.
        name: One of ``FILTERS``.
        strength: Expected noise (or artefact) level; sets the filter's parameters.

    Returns:
        HxWx3 uint8 RGB.
    """
    level = 255.0 * strength
    if name == 'nlm':
        return cv2.fastNlMeansDenoisingColored(image, None, level, level, 7, 21)
    if name == 'bilateral':
        return cv2.bilateralFilter(image, 7, 2.0 * level, 3.0)
    if name == 'median':
        return cv2.medianBlur(image, 3 if strength < 0.1 else 5)
    if name == 'guided':
        return _uint8(guided_filter(_float(image), 3, float(strength) ** 2))
    raise ValueError(f'unknown filter {name!r}; accepted: {", ".join(FILTERS)}')


def restoration_input(image: np.ndarray, kind: str, level: int, rng: np.random.Generator) -> np.ndarray:
    """The degraded input of a ``denoise`` (gaussian noise) or ``deblock`` (JPEG) version.

    Args:
        image: HxWx3 uint8 RGB clean image.
        kind: ``'denoise'`` or ``'deblock'``.
        level: Severity 1..3 of the input degradation (``noise`` sigma or JPEG quality of
            ``PARAMETERS``).
        rng: Generator for the noise.

    Returns:
        HxWx3 uint8 RGB.
    """
    if kind == 'denoise':
        return _uint8(gaussian_noise(_float(image), PARAMETERS['noise'][level - 1], rng))
    return _uint8(jpeg_compress(_float(image), PARAMETERS['compression'][level - 1]))


#: Filter strength used for a JPEG input of each severity (the quantisation error is larger
#: at lower quality).
DEBLOCK_STRENGTH = (0.04, 0.07, 0.1)


def restore(image: np.ndarray, kind: str, method: str, level: int) -> np.ndarray:
    """Filter a degraded input the way a restoration method would.

    Args:
        image: The degraded input (``restoration_input``).
        kind: ``'denoise'`` or ``'deblock'``.
        method: One of ``FILTERS``.
        level: Severity 1..3 of the input degradation.

    Returns:
        HxWx3 uint8 RGB.
    """
    strength = PARAMETERS['noise'][level - 1] if kind == 'denoise' else DEBLOCK_STRENGTH[level - 1]
    return apply_filter(image, method, strength)


def sharpen_upscaled(image: np.ndarray, factor: float, level: int) -> np.ndarray:
    """Bicubic down/up-scaling by ``factor``, then unsharp masking with the ``oversharpen`` gain.

    The unsharp mask's sigma is the larger of ``oversharpen``'s and ``factor / 2`` pixels, so
    the halos have the width of the upscaled detail.

    Args:
        image: HxWx3 uint8 RGB clean image.
        factor: Reduction factor (> 1).
        level: Severity 1..3 of the sharpening gain (``PARAMETERS['oversharpen']``).

    Returns:
        HxWx3 uint8 RGB.
    """
    upscaled = _float(_resample(image, factor, cv2.INTER_CUBIC))
    sigma = max(SHARPEN_SIGMA * resolution_scale(image.shape), factor / 2)
    return _uint8(oversharpen(upscaled, PARAMETERS['oversharpen'][level - 1], sigma))
