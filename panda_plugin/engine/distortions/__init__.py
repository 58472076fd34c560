"""The 14 PANDA distortions at three severities, for whole images and per region.

Images are HxWx3 uint8 RGB arrays in and out. Parameter values (``PARAMETERS``, in taxonomy
order; ``*`` marks lengths in reference pixels, see below):

============  ====================================  ==============  ==============  ==============
name          effect                                minor           moderate        severe
============  ====================================  ==============  ==============  ==============
snow          flakes/px*, size* (sigma), whitening  .002, 2.0, .05  .005, 2.5, .12  .010, 3.0, .22
contrast_inc  0.5 + k (x - 0.5) per channel         k=1.4           k=2.0           k=3.2
compression   JPEG (OpenCV), quality                25              12              5
brightness    HSV value + d                         d=0.1           d=0.3           d=0.5
oversharpen   x + a (x - blur(x)), blur sigma 1.5*  a=1.5           a=3             a=6
noise         additive gaussian, sigma on [0, 1]    0.05            0.15            0.25
blur          gaussian blur, sigma*                 1.5             3.0             5.0
haze          I t + A (1 - t), t = exp(-b depth)    b=0.5, A=.75    b=1.1, A=.80    b=2.0, A=.85
rain          drops/px*, length*, opacity           .003, 14, .60   .005, 22, .70   .010, 32, .85
saturate_inc  HSV saturation x k (S clipped at 1)   x1.6            x3              x10
saturate_dec  HSV saturation x k                    x0.6            x0.3            x0 (grey)
contrast_dec  0.5 + k (x - 0.5) per channel         k=0.75          k=0.45          k=0.2
darken        HSV value - d                         d=0.1           d=0.3           d=0.5
pixelate      block-mean cells, side*               3               6               10
============  ====================================  ==============  ==============  ==============

``*`` Resolution rule: lengths are defined for an image whose short side is 512 pixels and
are multiplied by the factor ``short_side / 512`` (floored at 0.5); densities are per
reference pixel (divided by the square of that factor), so a distortion looks the same at
any resolution. Rain streaks are ``max(1, round(factor))`` pixels wide; the haze
pseudo-depth field has 128*-pixel cells. Noise sigma, JPEG quality and the photometric
values do not depend on resolution.
Details and an illustration: ``docs/distortions.md``.
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
