"""Region proposers: callables that turn an HxWx3 uint8 RGB image into a label map.

Every proposer is deterministic (the same image gives the same label map) and returns an
``int32`` HxW label map with contiguous region indices ``0..N-1``; the superpixel, grid,
panoptic (``points.panoptic``) and SAM proposers cover every pixel, user masks may leave
pixels at ``-1``.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable

import numpy as np

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.regions.grid import GridSegmenter
from panda_plugin.engine.regions.sam import SamSegmenter
from panda_plugin.engine.regions.superpixel import SuperpixelSegmenter
from panda_plugin.engine.regions.user_masks import MaskSegmenter, load_masks

#: File name endings read as mask files by ``build_segmenter``.
MASK_SUFFIXES = ('.png', '.tif', '.tiff', '.json')

_FORMS = ("'superpixel', 'grid', 'grid:RxC' (e.g. 'grid:3x4'), 'panoptic' or 'panoptic:WEIGHTS', "
          "'sam:PATH' (or 'sam' with "
          f"checkpoint=PATH), 'points' (with points=CLICKS, method=M) or 'points:METHOD', a path to a masks file ({', '.join(MASK_SUFFIXES)}), a label map "
          'or mask stack array, or a callable image -> label map')


def build_segmenter(spec='superpixel', **kwargs) -> Callable[[np.ndarray], np.ndarray]:
    """Make a region proposer from a short description.

    Args:
        spec: ``'superpixel'``; ``'grid'`` or ``'grid:RxC'``; ``'panoptic'`` (the
            second-stage segmenter trained on click pseudo-labels, shipped weights) or
            ``'panoptic:WEIGHTS'`` (a weights name or ``.safetensors`` path); ``'sam:PATH'`` or ``'sam'``
            (with ``checkpoint=PATH``); ``'points'`` or ``'points:METHOD'`` (with
            ``points=CLICKS``, see ``points.ClickSegmenter``); a path to a masks file or a label map / mask stack
            array (see ``load_masks``); or a callable, returned unchanged.
            Default: ``'superpixel'``.
        **kwargs: Options for the proposer's class (``SuperpixelSegmenter``,
            ``GridSegmenter``, ``points.panoptic.PanopticSegmenter`` or ``SamSegmenter``).

    Returns:
        A callable ``segmenter(image) -> label map``.
    """
    if callable(spec) or isinstance(spec, np.ndarray):
        _reject_options(kwargs)
        return spec if callable(spec) else MaskSegmenter(spec)
    if not isinstance(spec, (str, os.PathLike)):
        raise PandaInputError(f'region spec of type {type(spec).__name__}; accepted: {_FORMS}')
    text = os.fspath(spec)
    if text == 'superpixel':
        return SuperpixelSegmenter(**kwargs)
    if text == 'grid':
        return GridSegmenter(**kwargs)
    grid = re.fullmatch(r'grid:(\d+)x(\d+)', text)
    if grid:
        return GridSegmenter(int(grid[1]), int(grid[2]), **kwargs)
    if text == 'panoptic' or text.startswith('panoptic:'):
        from panda_plugin.engine.points.panoptic import PanopticSegmenter

        if text.startswith('panoptic:'):
            if not text[len('panoptic:'):]:
                raise PandaInputError(f"region spec {text!r} names no weights; accepted: 'panoptic' or "
                                      "'panoptic:NAME_OR_PATH.safetensors'")
            kwargs.setdefault('weights', text[len('panoptic:'):])
        return PanopticSegmenter(**kwargs)
    if text == 'points' or text.startswith('points:'):
        from panda_plugin.engine.points import ClickSegmenter

        if 'points' not in kwargs:
            raise PandaInputError(f"region spec {text!r} needs points=CLICKS (e.g. [(x, y), ...])")
        if text.startswith('points:'):
            kwargs.setdefault('method', text[len('points:'):])
        return ClickSegmenter(kwargs.pop('points'), **kwargs)
    if text == 'sam':
        if 'checkpoint' not in kwargs:
            raise PandaInputError("region spec 'sam' needs checkpoint=PATH (or use 'sam:PATH')")
        return SamSegmenter(**kwargs)
    if text.startswith('sam:'):
        return SamSegmenter(text[len('sam:'):], **kwargs)
    if text.lower().endswith(MASK_SUFFIXES) or os.path.isfile(text):
        _reject_options(kwargs)
        return MaskSegmenter(text)
    raise PandaInputError(f'unknown region spec {text!r}; accepted: {_FORMS}')


def _reject_options(kwargs: dict) -> None:
    if kwargs:
        raise PandaInputError(f'options {sorted(kwargs)} apply only to the superpixel, grid, panoptic, '
                              'points and sam region specs')


__all__ = ['GridSegmenter', 'MASK_SUFFIXES', 'MaskSegmenter', 'SamSegmenter',
           'SuperpixelSegmenter', 'build_segmenter', 'load_masks']
