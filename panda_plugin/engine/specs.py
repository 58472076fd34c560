"""The one parser of short text specs of regions and images: ``grid:RxC``, ``bundled:SUBSET``,
``photos:NAME``."""
from __future__ import annotations

import os
import re

_GRID = re.compile(r'grid:(\d+)x(\d+)')


def spec_argument(spec, scheme: str) -> str | None:
    """The ARGUMENT of a ``scheme:ARGUMENT`` spec (``'bundled:bench'`` -> ``'bench'``).

    Args:
        spec: Any text or path.
        scheme: The spec's name (``'bundled'``, ``'photos'``).

    Returns:
        The text after ``scheme:``, or None when ``spec`` is not of that scheme.
    """
    text = os.fspath(spec) if isinstance(spec, (str, os.PathLike)) else None
    return text[len(scheme) + 1:] if text is not None and text.startswith(f'{scheme}:') else None


def grid_shape(spec) -> tuple[int, int] | None:
    """Rows and columns of a ``grid:RxC`` region spec.

    Args:
        spec: Any text or path.

    Returns:
        ``(rows, cols)``, or None when ``spec`` is not ``grid:RxC`` with whole numbers.
    """
    match = _GRID.fullmatch(os.fspath(spec)) if isinstance(spec, (str, os.PathLike)) else None
    return (int(match[1]), int(match[2])) if match else None
