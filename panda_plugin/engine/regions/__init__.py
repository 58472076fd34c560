"""Region proposers: callables that turn an HxWx3 uint8 RGB image into a label map.

Every proposer is deterministic (the same image gives the same label map) and returns an
``int32`` HxW label map with contiguous region indices ``0..N-1``; the superpixel, grid and
SAM proposers cover every pixel, user masks may leave pixels at ``-1``. A product adds its own
specs with ``register_proposer`` (click regions add ``'points'`` and ``'panoptic'``).
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable

import numpy as np

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine import load_products
from panda_plugin.engine.regions.grid import GridSegmenter
from panda_plugin.engine.regions.sam import SamSegmenter
from panda_plugin.engine.regions.superpixel import SuperpixelSegmenter
from panda_plugin.engine.regions.user_masks import MaskSegmenter, load_masks
from panda_plugin.engine.specs import grid_shape

#: File name endings read as mask files by ``build_segmenter``.
MASK_SUFFIXES = ('.png', '.tif', '.tiff', '.json')
#: Specs the products add: scheme -> (factory, how the spec is written).
_SCHEMES: dict[str, tuple[Callable, str]] = {}


def register_proposer(scheme: str, factory: Callable, forms: str) -> None:
    """Add a region spec, ``scheme`` or ``scheme:ARGUMENT``, to ``build_segmenter``.

    Args:
        scheme: The spec's name (letters and ``_``); refused when already taken.
        factory: ``factory(argument, **options) -> proposer``; ``argument`` is the text after
            ``scheme:``, or None for a bare ``scheme``.
        forms: How the spec is written, for error messages (e.g. ``"'points' or 'points:METHOD'"``).
    """
    if not re.fullmatch(r'[a-z_]+', scheme) or scheme in ('superpixel', 'grid', 'sam'):
        raise PandaInputError(f'region spec scheme {scheme!r}; accepted: a new name of lowercase letters and _')
    if scheme in _SCHEMES and _SCHEMES[scheme][0] is not factory:
        raise PandaInputError(f'region spec scheme {scheme!r} is already registered')
    _SCHEMES[scheme] = (factory, forms)


def _all_schemes() -> dict:
    load_products()
    return _SCHEMES


def _forms() -> str:
    return ', '.join(["'superpixel', 'grid', 'grid:RxC' (e.g. 'grid:3x4')",
                      "'sam:PATH' (or 'sam' with checkpoint=PATH)",
                      *(forms for _, forms in _all_schemes().values()),
                      f"a path to a masks file ({', '.join(MASK_SUFFIXES)}), a label map "
                      'or mask stack array, or a callable image -> label map'])


def _registered(text: str):
    scheme, colon, argument = text.partition(':')
    if not re.fullmatch(r'[a-z_]+', scheme) or scheme == 'sam':
        return None
    if scheme not in _all_schemes():
        return None
    return _SCHEMES[scheme][0], (argument if colon else None)


def build_segmenter(spec='superpixel', **kwargs) -> Callable[[np.ndarray], np.ndarray]:
    """Make a region proposer from a short description.

    Args:
        spec: ``'superpixel'``; ``'grid'`` or ``'grid:RxC'``; ``'sam:PATH'`` or ``'sam'``
            (with ``checkpoint=PATH``); a spec a product registers (``register_proposer``:
            ``'points'``/``'points:METHOD'`` with ``points=CLICKS``, ``'panoptic'``/``'panoptic:WEIGHTS'``);
            a path to a masks file or a label map / mask stack array (see ``load_masks``); or a
            callable, returned unchanged.
            Default: ``'superpixel'``.
        **kwargs: Options for the proposer's class (``SuperpixelSegmenter``,
            ``GridSegmenter``, ``SamSegmenter`` or the registered factory).

    Returns:
        A callable ``segmenter(image) -> label map``.
    """
    if callable(spec) or isinstance(spec, np.ndarray):
        _reject_options(kwargs)
        return spec if callable(spec) else MaskSegmenter(spec)
    if not isinstance(spec, (str, os.PathLike)):
        raise PandaInputError(f'region spec of type {type(spec).__name__}; accepted: {_forms()}')
    text = os.fspath(spec)
    if text == 'superpixel':
        return SuperpixelSegmenter(**kwargs)
    if text == 'grid':
        return GridSegmenter(**kwargs)
    grid = grid_shape(text)
    if grid:
        return GridSegmenter(*grid, **kwargs)
    registered = _registered(text)
    if registered:
        factory, argument = registered
        return factory(argument, **kwargs)
    if text == 'sam':
        if 'checkpoint' not in kwargs:
            raise PandaInputError("region spec 'sam' needs checkpoint=PATH (or use 'sam:PATH')")
        return SamSegmenter(**kwargs)
    if text.startswith('sam:'):
        return SamSegmenter(text[len('sam:'):], **kwargs)
    if text.lower().endswith(MASK_SUFFIXES) or os.path.isfile(text):
        _reject_options(kwargs)
        return MaskSegmenter(text)
    raise PandaInputError(f'unknown region spec {text!r}; accepted: {_forms()}')


def _reject_options(kwargs: dict) -> None:
    if kwargs:
        named = ', '.join(['superpixel', 'grid', *_all_schemes(), 'sam'])
        raise PandaInputError(f'options {sorted(kwargs)} apply only to the {named} region specs')


__all__ = ['GridSegmenter', 'MASK_SUFFIXES', 'MaskSegmenter', 'SamSegmenter',
           'SuperpixelSegmenter', 'build_segmenter', 'load_masks', 'register_proposer']
