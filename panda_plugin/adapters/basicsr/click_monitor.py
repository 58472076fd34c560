"""Monitoring over clicked objects: ``val: panda: {points: clicks.json}`` in ``PandaSRModel``.

The clicks file is keyed by image name (the file name, with or without its extension) and
lists clicks in ground-truth pixels (see ``points.read_clicks``). A validated image with
clicks gets its graph over the clicked objects; others keep the ``segmenter`` regions.
"""
from __future__ import annotations

from pathlib import Path

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.json_files import read_json

_FILES: dict = {}


def clicks_for(path, image_path: str):
    """The clicks of one image from a clicks file keyed by image name.

    Args:
        path: JSON file ``{"name.png": [[x, y], ...], ...}`` (values as ``read_clicks`` takes).
        image_path: Path or name of the validated image.

    Returns:
        The clicks value for the image, or None when the file has none for it.
    """
    key = str(Path(path).resolve())
    if key not in _FILES:
        content = read_json(path, 'clicks file (val.panda.points)')
        if not isinstance(content, dict):
            raise PandaInputError(f'clicks file {str(path)!r} (val.panda.points) must be a JSON object '
                                  'keyed by image name')
        _FILES[key] = content
    content = _FILES[key]
    name = Path(image_path).name
    for candidate in (name, Path(name).stem):
        if candidate in content:
            return content[candidate]
    return None


def click_graph(monitor: dict, image_path: str, restored, reference, device):
    """The reference-mode graph of a validated image over its clicked objects.

    Args:
        monitor: ``val.panda`` options (``points``, ``points_method``, ``weights``).
        image_path: Path of the validated image (its name selects the clicks).
        restored: HxWx3 uint8 restored image.
        reference: HxWx3 uint8 ground truth.
        device: Torch device of PANDA.

    Returns:
        A ``DistortionGraph``, or None when the image has no clicks (or no file is set).
    """
    if not monitor.get('points'):
        return None
    clicks = clicks_for(monitor['points'], image_path)
    if clicks is None:
        return None
    from panda_plugin.engine.panda.predictor import compare

    return compare(restored, reference, points=clicks, points_method=monitor.get('points_method'),
                   model=monitor['weights'], device=device)
