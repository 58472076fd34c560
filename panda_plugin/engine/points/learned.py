"""The ``learned`` click method: shipped ``points-tiny`` weights, loading, exporting, inference."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.points.clicks import Clicks
from panda_plugin.engine.points.distance_arch import PointDistanceNet
from panda_plugin.engine.points.scaling import full_size_labels

#: Name of the shipped weights (``panda_plugin/weights/points-tiny.safetensors``).
DEFAULT_POINT_WEIGHTS = 'points-tiny'
_SHIPPED = Path(__file__).parents[2] / 'weights'
_METADATA_KEY = 'points_config'
_CACHE: dict = {}


def load_point_model(weights=None, arch=PointDistanceNet, default: str = DEFAULT_POINT_WEIGHTS):
    """A trained network of the click package, in eval mode on the CPU (cached).

    Args:
        weights: A network of class ``arch`` (returned in eval mode), a shipped name, a path to
            a ``.safetensors`` file from ``export_point_weights``, or None for ``default``.
        arch: Network class the file holds. Default: ``PointDistanceNet``.
        default: Shipped weights name used when ``weights`` is None. Default: ``points-tiny``.

    Returns:
        The network.
    """
    if isinstance(weights, arch):
        return weights.eval()
    text = default if weights is None else os.fspath(weights)
    path = _SHIPPED / f'{text}.safetensors' if '/' not in text and not text.endswith('.safetensors') else Path(text)
    if not path.is_file():
        raise PandaInputError(f'{arch.__name__} weights {text!r} not found at {str(path)!r}; accepted: '
                              f'{default!r} or a .safetensors file from `panda export-point-weights`')
    key = (arch.__name__, str(path.resolve()))
    if key not in _CACHE:
        from safetensors import safe_open
        from safetensors.torch import load_file

        try:
            with safe_open(str(path), framework='pt') as handle:
                config = json.loads((handle.metadata() or {})[_METADATA_KEY])
            network = arch(**config)
            network.load_state_dict(load_file(str(path)))
        except Exception as error:  # corrupt files raise safetensors' own error types
            raise PandaInputError(f'cannot load {arch.__name__} weights {str(path)!r}: {error}') from None
        network.weights_name = path.stem
        _CACHE[key] = network.eval()
    return _CACHE[key]


def export_point_weights(network, out) -> Path:
    """Write a network's weights and options as one safetensors file.

    Args:
        network: A ``PointDistanceNet`` or ``PanopticSegmenterNet`` (any network with ``config``).
        out: Destination ``.safetensors`` path.

    Returns:
        The written path.
    """
    from safetensors.torch import save_file

    out = Path(out)
    if out.suffix != '.safetensors':
        raise PandaInputError(f'output {str(out)!r} must end with .safetensors')
    out.parent.mkdir(parents=True, exist_ok=True)
    state = {name: value.detach().contiguous() for name, value in network.state_dict().items()}
    partial = out.with_name(out.name + '.partial')
    save_file(state, str(partial), metadata={_METADATA_KEY: json.dumps(network.config, sort_keys=True)})
    partial.replace(out)
    return out


def network_inputs(network: PointDistanceNet, image: np.ndarray, xy: np.ndarray):
    """An image and its clicks at the network's working resolution.

    Args:
        network: The network.
        image: HxWx3 uint8.
        xy: Nx2 (x, y) clicks in image pixels.

    Returns:
        (1x3xhxw float tensor, 1xNx2 float clicks in working pixels).
    """
    import cv2

    height, width = image.shape[:2]
    small_h, small_w = network.working_size(height, width)
    interpolation = cv2.INTER_AREA if small_h < height else cv2.INTER_LINEAR
    small = cv2.resize(image, (small_w, small_h), interpolation=interpolation)
    scale = np.array([small_w / width, small_h / height])
    points = (np.asarray(xy, np.float64) + 0.5) * scale - 0.5
    tensor = torch.from_numpy(small).permute(2, 0, 1)[None].float() / 255
    return tensor, torch.from_numpy(points).float()[None]


def learned_regions(network: PointDistanceNet, image: np.ndarray, clicks: Clicks, rounds=None) -> np.ndarray:
    """Label every pixel with the click at the smallest learned distance.

    Args:
        network: ``PointDistanceNet`` in eval mode.
        image: HxWx3 uint8.
        clicks: Validated clicks (at most ``network.max_clicks``).
        rounds: Refinement rounds (default: the network's own).

    Returns:
        int32 HxW label map, region ``i`` for click ``i``.
    """
    tensor, points = network_inputs(network, image, clicks.xy)
    valid = torch.ones(points.shape[:2], dtype=torch.bool)
    stuff = torch.from_numpy(clicks.stuff)[None]
    prior = None
    if network.geodesic_prior:
        from panda_plugin.engine.points.geodesic import batch_geodesic_distances

        prior = batch_geodesic_distances(tensor, points, valid)
    with torch.inference_mode():
        distances = network(tensor, points, valid, stuff, rounds=rounds, prior=prior)[-1]
        distances = F.interpolate(distances, size=image.shape[:2], mode='bilinear', align_corners=False)
        labels = distances[0].argmin(0).numpy().astype(np.int32)
    return full_size_labels(labels, image.shape[:2], clicks.xy)
