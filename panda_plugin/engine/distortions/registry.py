"""The distortion table: parameters per severity, the resolution rule and chain execution.

``PARAMETERS`` maps each distortion name to its (minor, moderate, severe) values. Lengths
in it (blur sigma, pixel block, rain streak length, snow flake size) and the fixed lengths
below are defined for an image whose short side is ``REFERENCE_SHORT_SIDE`` pixels and are
multiplied by ``short_side / REFERENCE_SHORT_SIDE``, so a distortion looks the same at any
resolution. Densities (rain drops, snow flakes) are per reference pixel, so the per-pixel
density is divided by the square of that factor. The factor is floored at ``MIN_SCALE``:
below that short side, lengths and densities keep their values for it, so minor spatial
distortions stay visible and severities distinct on small images. Photometric values,
noise sigma and JPEG quality do not depend on resolution.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.taxonomy import DISTORTIONS, SEVERITIES, distortion_id, severity_id
from panda_plugin.engine.distortions import degradations, photometric, weather

#: Short image side, in pixels, at which the lengths of the table hold as written.
REFERENCE_SHORT_SIDE = 512
#: Gaussian sigma of the unsharp mask used by ``oversharpen`` (reference pixels).
SHARPEN_SIGMA = 1.5
#: Smallest resolution factor (a 256-pixel short side).
MIN_SCALE = 0.5
#: Cell of the random field in the haze pseudo-depth map (reference pixels).
DEPTH_CELL = 128.0

#: (minor, moderate, severe) parameter values of every distortion.
PARAMETERS: dict[str, tuple[Any, Any, Any]] = {
    'snow': ({'density': 0.002, 'size': 2.0, 'whiten': 0.05},
             {'density': 0.005, 'size': 2.5, 'whiten': 0.12},
             {'density': 0.010, 'size': 3.0, 'whiten': 0.22}),
    'contrast_inc': (1.4, 2.0, 3.2),
    'compression': (25, 12, 5),
    'brightness': (0.1, 0.3, 0.5),
    'oversharpen': (1.5, 3.0, 6.0),
    'noise': (0.05, 0.15, 0.25),
    'blur': (1.5, 3.0, 5.0),
    'haze': ({'beta': 0.5, 'airlight': 0.75},
             {'beta': 1.1, 'airlight': 0.8},
             {'beta': 2.0, 'airlight': 0.85}),
    'rain': ({'density': 0.003, 'length': 14.0, 'opacity': 0.6},
             {'density': 0.005, 'length': 22.0, 'opacity': 0.7},
             {'density': 0.010, 'length': 32.0, 'opacity': 0.85}),
    'saturate_inc': (1.6, 3.0, 10.0),
    'saturate_dec': (0.6, 0.3, 0.0),
    'contrast_dec': (0.75, 0.45, 0.2),
    'darken': (0.1, 0.3, 0.5),
    'pixelate': (3, 6, 10),
}

#: A chain step after validation: (distortion name, severity 1..3).
Step = tuple[str, int]

_Operation = Callable[[np.ndarray, Any, np.random.Generator, float], np.ndarray]


def _per_pixel(density: float, scale: float) -> float:
    """A density per reference pixel as a density per pixel of the current image."""
    return density / scale ** 2


_OPERATIONS: dict[str, _Operation] = {
    'snow': lambda image, p, rng, scale: weather.snow(
        image, _per_pixel(p['density'], scale), p['size'] * scale, p['whiten'], rng),
    'contrast_inc': lambda image, p, rng, scale: photometric.scale_contrast(image, p),
    'compression': lambda image, p, rng, scale: degradations.jpeg_compress(image, p),
    'brightness': lambda image, p, rng, scale: photometric.shift_brightness(image, p),
    'oversharpen': lambda image, p, rng, scale: degradations.oversharpen(
        image, p, SHARPEN_SIGMA * scale),
    'noise': lambda image, p, rng, scale: degradations.gaussian_noise(image, p, rng),
    'blur': lambda image, p, rng, scale: degradations.gaussian_blur(image, p * scale),
    'haze': lambda image, p, rng, scale: weather.haze(
        image, p['beta'], p['airlight'], rng, DEPTH_CELL * scale),
    'rain': lambda image, p, rng, scale: weather.rain(
        image, _per_pixel(p['density'], scale), p['length'] * scale, p['opacity'], rng,
        max(1, round(scale))),
    'saturate_inc': lambda image, p, rng, scale: photometric.scale_saturation(image, p),
    'saturate_dec': lambda image, p, rng, scale: photometric.scale_saturation(image, p),
    'contrast_dec': lambda image, p, rng, scale: photometric.scale_contrast(image, p),
    'darken': lambda image, p, rng, scale: photometric.shift_brightness(image, -p),
    'pixelate': lambda image, p, rng, scale: degradations.pixelate(
        image, max(2, round(p * scale))),
}


def check_image(image) -> np.ndarray:
    """Validate an HxWx3 uint8 RGB array.

    Args:
        image: The candidate image.

    Returns:
        The image as a C-contiguous array (the same object when it already is one).
    """
    if not isinstance(image, np.ndarray):
        raise PandaInputError(
            f'image must be a numpy array, got {type(image).__name__}; accepted: HxWx3 uint8 RGB')
    if image.dtype != np.uint8:
        raise PandaInputError(f'image dtype {image.dtype}; accepted: uint8 (HxWx3 RGB)')
    if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 1:
        raise PandaInputError(f'image shape {image.shape}; accepted: HxWx3 uint8 RGB')
    return np.ascontiguousarray(image)


def check_seed(seed) -> int:
    """Validate a seed: a non-negative integer.

    Args:
        seed: The candidate seed.

    Returns:
        The seed as a Python int.
    """
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return int(seed)
    raise PandaInputError(f'seed {seed!r}; accepted: a non-negative integer')


def resolution_scale(shape: tuple[int, ...]) -> float:
    """Factor applied to reference lengths (and densities) for an image of this shape.

    Args:
        shape: Image shape ``(H, W, ...)``.

    Returns:
        ``max(min(H, W) / REFERENCE_SHORT_SIDE, MIN_SCALE)``.
    """
    return max(min(shape[0], shape[1]) / REFERENCE_SHORT_SIDE, MIN_SCALE)


def normalise_step(name, severity) -> Step | None:
    """Validate one step; ``None`` when it does nothing (``clean`` or severity 0).

    Args:
        name: Distortion name or id.
        severity: Severity 0..3 or its name (``'minor'``, ``'moderate'``, ``'severe'``).

    Returns:
        ``(name, severity)`` with the name canonical and the severity in 1..3, or ``None``.
    """
    name = DISTORTIONS[distortion_id(name)]
    level = severity_id(severity)
    if name == 'clean' or level == 0:
        return None
    return name, level


def normalise_chain(chain, where: str) -> tuple[Step, ...]:
    """Validate a chain of ``(distortion, severity)`` steps and drop the no-op steps.

    Args:
        chain: A list or tuple of pairs.
        where: What to call the chain in error messages.

    Returns:
        The effective steps, in order (empty when the chain changes nothing).
    """
    if not isinstance(chain, (list, tuple)):
        raise PandaInputError(
            f'{where}: {chain!r} is not a list; accepted: a list of (distortion, severity) pairs')
    steps = []
    for step in chain:
        if not isinstance(step, (list, tuple)) or len(step) != 2:
            raise PandaInputError(
                f'{where}: step {step!r}; accepted: a (distortion, severity) pair, severity in '
                f'{", ".join(SEVERITIES)} or 0..{len(SEVERITIES) - 1}')
        try:
            normal = normalise_step(*step)
        except PandaInputError as error:
            raise PandaInputError(f'{where}: {error}') from None
        if normal is not None:
            steps.append(normal)
    return tuple(steps)


def chain_generator(seed: int, steps: tuple[Step, ...]) -> np.random.Generator:
    """The random generator of a chain: a function of the seed and the chain content only.

    Args:
        seed: Non-negative integer seed.
        steps: Normalised chain.

    Returns:
        A numpy Generator.
    """
    words = [seed, len(steps)]
    for name, level in steps:
        words += [distortion_id(name), level]
    return np.random.default_rng(np.random.SeedSequence(words))


def run_chain(image: np.ndarray, steps: tuple[Step, ...], rng: np.random.Generator,
              scale: float) -> np.ndarray:
    """Apply normalised steps in order (in float32) and round back to uint8 once.

    Args:
        image: HxWx3 uint8 RGB image.
        steps: Normalised chain (see ``normalise_chain``).
        rng: Generator shared by the steps, drawn from in step order.
        scale: Resolution factor for reference lengths (see ``resolution_scale``).

    Returns:
        HxWx3 uint8 RGB result.
    """
    work = image.astype(np.float32) / np.float32(255.0)
    for name, level in steps:
        work = _OPERATIONS[name](work, PARAMETERS[name][level - 1], rng, scale)
    return (np.clip(work, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
