"""Clicks: one point per object, read from Python values, ``"x,y;x,y"`` text or JSON files.

A click is a pixel position ``(x, y)`` (column, row; integers, or floats rounded to the nearest
pixel) and an optional kind: ``'thing'`` (a countable object) or ``'stuff'`` (sky, wall, grass).
Region ``i`` of a click proposer is the region of click ``i``, in the order given.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.json_files import read_json

#: Kinds a click may carry; ``thing`` is the default.
KINDS = ('thing', 'stuff')

_ACCEPTED = ('a list of (x, y) or (x, y, kind) pairs, a list of {"x": .., "y": .., "kind": ..} '
             'objects, the text "x,y;x,y" (optionally "x,y,stuff"), or a path to a JSON file '
             'holding such a list (or {"points": [...]})')


@dataclass(frozen=True)
class Clicks:
    """Validated clicks of one image.

    Args:
        xy: Nx2 int64 array of (x, y) pixel positions.
        kinds: N kind names, each one of ``KINDS``.
    """

    xy: np.ndarray
    kinds: tuple

    def __len__(self) -> int:
        return len(self.xy)

    @property
    def stuff(self) -> np.ndarray:
        """N bool: which clicks are on stuff."""
        return np.array([kind == 'stuff' for kind in self.kinds], bool)

    def to_json(self) -> list:
        """The clicks as a JSON-able list of ``{"x", "y", "kind"}`` objects."""
        return [{'x': int(x), 'y': int(y), 'kind': kind} for (x, y), kind in zip(self.xy, self.kinds)]


def read_clicks(source, image_size: tuple[int, int] | None = None, max_clicks: int | None = None,
                name: str | None = None) -> Clicks:
    """Read and check clicks.

    Args:
        source: A ``Clicks``; a list of ``(x, y)`` / ``(x, y, kind)`` / ``{"x", "y", "kind"}``;
            an Nx2 array; ``"x,y;x,y"`` text; or a JSON file path. A JSON file may also hold
            a dict keyed by image name (see ``name``).
        image_size: ``(height, width)``; clicks must lie inside it. Not checked when None.
        max_clicks: Most clicks accepted (e.g. the capacity of a model). None: no limit.
        name: Image name to pick from a JSON dict keyed by image name.

    Returns:
        The validated ``Clicks``.

    Raises:
        PandaInputError: malformed input, no clicks, clicks outside the image, duplicate
            clicks, or more than ``max_clicks``.
    """
    clicks = source if isinstance(source, Clicks) else _parse(source, name)
    if len(clicks) == 0:
        raise PandaInputError(f'no clicks given; accepted: {_ACCEPTED}')
    if max_clicks is not None and len(clicks) > max_clicks:
        raise PandaInputError(f'{len(clicks)} clicks; this method takes at most {max_clicks}')
    if image_size is not None:
        height, width = image_size
        for index, (x, y) in enumerate(clicks.xy):
            if not (0 <= x < width and 0 <= y < height):
                raise PandaInputError(
                    f'click {index} at (x={x}, y={y}) is outside the {width}x{height} image; '
                    f'accepted: 0 <= x < {width}, 0 <= y < {height}')
    seen: dict = {}
    for index, (x, y) in enumerate(clicks.xy.tolist()):
        if (x, y) in seen:
            raise PandaInputError(f'clicks {seen[(x, y)]} and {index} are both at (x={x}, y={y}); '
                                  'accepted: one click per pixel')
        seen[(x, y)] = index
    return clicks


def _parse(source, name: str | None) -> Clicks:
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if text.lower().endswith('.json') or os.path.isfile(text):
            return _from_items(_read_json(Path(text), name), f'file {text!r}')
        return _from_text(text)
    if isinstance(source, np.ndarray):
        if source.ndim != 2 or source.shape[1] != 2:
            raise PandaInputError(f'clicks array of shape {source.shape}; accepted: Nx2 (x, y)')
        source = source.tolist()
    if isinstance(source, dict) and 'points' in source:
        source = source['points']
    if not isinstance(source, (list, tuple)):
        raise PandaInputError(f'clicks of type {type(source).__name__}; accepted: {_ACCEPTED}')
    return _from_items(list(source), 'clicks')


def _read_json(path: Path, name: str | None):
    content = read_json(path, 'clicks file')
    if isinstance(content, dict) and 'points' in content:
        return content['points']
    if isinstance(content, dict):
        if name is None:
            raise PandaInputError(f'clicks file {str(path)!r} is keyed by image name; say which image')
        if name not in content:
            raise PandaInputError(f'clicks file {str(path)!r} has no clicks for image {name!r}; '
                                  f'it lists {", ".join(sorted(content)) or "none"}')
        content = content[name]
        if isinstance(content, dict) and 'points' in content:
            content = content['points']
    return content


def _from_text(text: str) -> Clicks:
    items = []
    for part in (p.strip() for p in text.split(';')):
        if not part:
            continue
        fields = [f.strip() for f in part.split(',')]
        if len(fields) not in (2, 3):
            raise PandaInputError(f'click {part!r} in {text!r}; accepted: "x,y" or "x,y,kind", '
                                  'separated by ";"')
        items.append(fields)
    return _from_items(items, f'clicks {text!r}')


def _from_items(items, where: str) -> Clicks:
    if not isinstance(items, list):
        raise PandaInputError(f'{where} hold a {type(items).__name__}; accepted: {_ACCEPTED}')
    xy, kinds = [], []
    for index, item in enumerate(items):
        if isinstance(item, dict):
            if 'x' not in item or 'y' not in item:
                raise PandaInputError(f'click {index} in {where} has no "x" and "y"; got {item!r}')
            values = [item['x'], item['y'], item.get('kind', 'thing')]
        elif isinstance(item, (list, tuple)) and len(item) in (2, 3):
            values = [*item, 'thing'][:3]
        else:
            raise PandaInputError(f'click {index} in {where} is {item!r}; accepted: {_ACCEPTED}')
        xy.append([_coordinate(values[0], index, where), _coordinate(values[1], index, where)])
        kind = values[2]
        if kind not in KINDS:
            raise PandaInputError(f'click {index} in {where} has kind {kind!r}; accepted: '
                                  f'{", ".join(KINDS)}')
        kinds.append(kind)
    return Clicks(np.array(xy, np.int64).reshape(-1, 2), tuple(kinds))


def _coordinate(value, index: int, where: str) -> int:
    if isinstance(value, bool):
        raise PandaInputError(f'click {index} in {where} has coordinate {value!r}; accepted: a number')
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PandaInputError(f'click {index} in {where} has coordinate {value!r}; accepted: a '
                              'number') from None
    if not np.isfinite(number):
        raise PandaInputError(f'click {index} in {where} has coordinate {value!r}; accepted: a '
                              'finite number')
    return int(np.floor(number + 0.5))
