"""The 14 PANDA distortions at three severities, for whole images and per region.

Images are HxWx3 uint8 RGB arrays in and out. The parameter of every distortion and severity is
in ``PARAMETERS`` (taxonomy order), tabulated with pictures in ``docs/distortions.md``.

Resolution rule: lengths are defined for an image whose short side is 512 pixels and
are multiplied by the factor ``short_side / 512`` (floored at 0.5); densities are per
reference pixel (divided by the square of that factor), so a distortion looks the same at
any resolution. Rain streaks are ``max(1, round(factor))`` pixels wide; the haze
pseudo-depth field has 128*-pixel cells. Noise sigma, JPEG quality and the photometric
values do not depend on resolution.
"""
from __future__ import annotations

import numpy as np

from panda_plugin.engine.distortions.composite import degrade_regions
from panda_plugin.engine.distortions.registry import (
    PARAMETERS,
    chain_generator,
    check_image,
    check_seed,
    normalise_chain,
    resolution_scale,
    run_chain,
)

__all__ = ['PARAMETERS', 'apply_distortion', 'degrade_regions']


def apply_distortion(image: np.ndarray, name, severity, seed: int = 0) -> np.ndarray:
    """Apply one distortion to a whole image.

    Args:
        image: HxWx3 uint8 RGB image.
        name: Distortion name from ``taxonomy.DISTORTIONS`` (or its id).
        severity: 1..3 or ``'minor'``/``'moderate'``/``'severe'``; ``'clean'`` or 0 (like
            the name ``'clean'``) returns an unchanged copy.
        seed: Non-negative integer seed for the random distortions. Default: 0.

    Returns:
        New HxWx3 uint8 RGB image.
    """
    image = check_image(image)
    seed = check_seed(seed)
    steps = normalise_chain([(name, severity)], 'apply_distortion')
    if not steps:
        return image.copy()
    return run_chain(image, steps, chain_generator(seed, steps), resolution_scale(image.shape))
