"""Colour spaces of torch images: the one sRGB to CIELAB conversion.

PANDA's fidelity measures compute it as OpenCV does (``convention='opencv'``, the default); the
click networks' colour terms take scikit-image's lightness (``convention='skimage'``). Both use
D65, the sRGB curve and OpenCV's matrix (scikit-image's more precise one moves a and b by up to
0.005); they differ in two places:

- the lightness of dark colours (``Y <= 0.008856``): OpenCV takes ``903.3 * Y``, scikit-image
  ``116 * f(Y) - 16`` on the linear part of ``f`` (``7.787 * Y + 16 / 116``), i.e. ``903.292 * Y``;
  up to 7e-5 in L;
- the white point: OpenCV folds it into the matrix, scikit-image divides the product by it;
  the same arithmetic rounded differently (up to 3e-5 in a and b at float32).

Each product keeps its own convention so that its numbers are those it was measured and
trained with: the click loss's uniform-colour mask changes in 2 of 524,288 pixels (eight
scikit-image photographs, 256 px) under the other.
"""
from __future__ import annotations

import torch

from panda_plugin.core.errors import PandaInputError

#: Conventions of ``rgb_to_lab``.
CONVENTIONS = ('opencv', 'skimage')
_MATRIX = [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]]
_WHITE = [0.950456, 1.0, 1.088754]
_THRESHOLD = 0.008856


def rgb_to_lab(rgb: torch.Tensor, convention: str = 'opencv') -> torch.Tensor:
    """sRGB in [0, 1] to CIELAB (D65).

    Args:
        rgb: Bx3xHxW sRGB in [0, 1].
        convention: ``'opencv'`` (OpenCV's ``COLOR_RGB2Lab`` on float images; PANDA's scores) or
            ``'skimage'`` (``skimage.color.rgb2lab``'s lightness; the click networks' colour terms);
            see the module docstring. Default: ``'opencv'``.

    Returns:
        Bx3xHxW: L in [0, 100], a and b roughly in [-128, 127].
    """
    if convention not in CONVENTIONS:
        raise PandaInputError(f'colour convention {convention!r}; accepted: {", ".join(CONVENTIONS)}')
    linear = torch.where(rgb > 0.04045, ((rgb.clamp(min=0.04045) + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    matrix, white = rgb.new_tensor(_MATRIX), rgb.new_tensor(_WHITE)
    if convention == 'opencv':
        xyz = torch.einsum('ij,bjhw->bihw', matrix / white[:, None], linear)
    else:
        xyz = torch.einsum('ij,bjhw->bihw', matrix, linear) / white[:, None, None]
    f = torch.where(xyz > _THRESHOLD, xyz.clamp(min=_THRESHOLD) ** (1.0 / 3.0), 7.787 * xyz + 16.0 / 116.0)
    lightness = 116.0 * f[:, 1:2] - 16.0
    if convention == 'opencv':
        y = xyz[:, 1:2]
        lightness = torch.where(y > _THRESHOLD, lightness, 903.3 * y)
    return torch.cat([lightness, 500.0 * (f[:, 0:1] - f[:, 1:2]), 200.0 * (f[:, 1:2] - f[:, 2:3])], 1)
