"""The ``learned`` click method: shipped weights, loading, exporting, inference.

The shipped network is ``ClickBoundaryNet`` (cheapest paths over a border cost learned from
clicks, ``boundary_arch``); a weights file names its network, and ``register_click_network`` adds
others (``research/point_distance`` adds the anchor-query ``PointDistanceNet``).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from panda_plugin.core.atomic import atomic_path
from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.checkpoints import safetensors_out
from panda_plugin.engine.points.clicks import Clicks
from panda_plugin.engine.points.geodesic import WORK_SIZE, shortest_path_labels
from panda_plugin.engine.points.models.boundary_arch import ClickBoundaryNet
from panda_plugin.engine.points.scaling import full_size_labels, working_clicks, working_shape
from panda_plugin.engine.shipped import SHIPPED, read_weights
from panda_plugin.engine.tensors import rgb8_to_tensor

#: Name of the shipped weights of the ``learned`` method (``panda_plugin/weights/<name>.safetensors``).
DEFAULT_POINT_WEIGHTS = 'points-boundary'
#: Networks of the ``learned`` method, by the name a weights file records (``register_click_network``).
CLICK_NETWORKS: dict[str, type] = {}
#: How each network labels the pixels: class name -> ``regions(network, image, clicks, rounds)``.
_LABELLERS: dict = {}
_METADATA_KEY = 'points_config'
_ARCH_KEY = 'points_arch'
_CACHE: dict = {}


def register_click_network(network_class: type, regions) -> None:
    """Add a network to the ``learned`` click method.

    Args:
        network_class: An ``nn.Module`` class with ``config`` (its options, for the weights file).
        regions: ``regions(network, image, clicks, rounds) -> label map`` (int32 HxW, region ``i``
            for click ``i``), called with the network in eval mode.
    """
    CLICK_NETWORKS[network_class.__name__] = network_class
    _LABELLERS[network_class.__name__] = regions


def load_point_model(weights=None, arch=None, default: str = DEFAULT_POINT_WEIGHTS):
    """A trained network of the click package, in eval mode on the CPU (cached).

    Args:
        weights: A network (returned in eval mode), a shipped name, a path to a
            ``.safetensors`` file from ``export_point_weights``, or None for ``default``.
        arch: Network class the file must hold; None for any of ``CLICK_NETWORKS``, as the
            file names it (files without a name hold a ``PointDistanceNet``, the first click network).
        default: Shipped weights name used when ``weights`` is None. Default: ``points-boundary``.

    Returns:
        The network.
    """
    if isinstance(weights, nn.Module):
        return weights.eval()
    text = default if weights is None else os.fspath(weights)
    path = SHIPPED / f'{text}.safetensors' if '/' not in text and not text.endswith('.safetensors') else Path(text)
    kind = 'click model' if arch is None else arch.__name__
    if not path.is_file():
        raise PandaInputError(f'{kind} weights {text!r} not found at {str(path)!r}; accepted: '
                              f'{default!r} or a .safetensors file from `panda export-point-weights`')
    key = (kind, str(path.resolve()))
    if key not in _CACHE:
        try:
            state, metadata = read_weights(path)
            config = json.loads(metadata[_METADATA_KEY])
            network = _network_class(metadata.get(_ARCH_KEY), arch)(**config)
            network.load_state_dict(state)
        except Exception as error:  # corrupt files raise safetensors' own error types
            raise PandaInputError(f'cannot load {kind} weights {str(path)!r}: {error}') from None
        network.weights_name = path.stem
        _CACHE[key] = network.eval()
    return _CACHE[key]


def _network_class(named: str | None, arch):
    """The class to build for a file that records ``named`` (None in files without a name)."""
    if arch is None:
        if (named or 'PointDistanceNet') not in CLICK_NETWORKS:
            raise ValueError(f'it holds a {named}; accepted: {", ".join(CLICK_NETWORKS)}')
        return CLICK_NETWORKS[named or 'PointDistanceNet']
    if named and named != arch.__name__:
        raise ValueError(f'it holds a {named}, not a {arch.__name__}')
    return arch


def export_point_weights(network, out) -> Path:
    """Write a network's weights and options as one safetensors file.

    Args:
        network: A ``ClickBoundaryNet``, ``PanopticSegmenterNet`` or any other network with
            ``config``; the file records its class name.
        out: Destination ``.safetensors`` path.

    Returns:
        The written path.
    """
    from safetensors.torch import save_file

    out = safetensors_out(out)
    state = {name: value.detach().contiguous() for name, value in network.state_dict().items()}
    with atomic_path(out, 'weights file') as temporary:
        save_file(state, str(temporary), metadata={_METADATA_KEY: json.dumps(network.config, sort_keys=True),
                                                   _ARCH_KEY: type(network).__name__})
    return out


def network_inputs(network: nn.Module, image: np.ndarray, xy: np.ndarray):
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
    return rgb8_to_tensor(small)[None], torch.from_numpy(points).float()[None]


def learned_regions(network, image: np.ndarray, clicks: Clicks, rounds=None) -> np.ndarray:
    """Label every pixel with the click at the smallest learned distance.

    Args:
        network: A network of ``CLICK_NETWORKS`` in eval mode.
        image: HxWx3 uint8.
        clicks: Validated clicks (at most ``network.max_clicks`` where the network has a limit).
        rounds: Refinement rounds, for networks that refine (default: the network's own).

    Returns:
        int32 HxW label map, region ``i`` for click ``i``.
    """
    labeller = _LABELLERS.get(type(network).__name__)
    if labeller is None:
        raise PandaInputError(f'click network {type(network).__name__}; accepted: {", ".join(CLICK_NETWORKS)}')
    return labeller(network, image, clicks, rounds)


def _boundary_labels(network: ClickBoundaryNet, image: np.ndarray, clicks: Clicks, rounds) -> np.ndarray:
    if rounds is not None:
        raise PandaInputError(f'rounds={rounds!r} applies to networks that refine; '
                              f'{getattr(network, "weights_name", "these")} hold a ClickBoundaryNet')
    return boundary_regions(network, image, clicks.xy)


def boundary_regions(network: ClickBoundaryNet, image: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Label every pixel with the click of its cheapest path over the learned border cost.

    Args:
        network: ``ClickBoundaryNet`` in eval mode.
        image: HxWx3 uint8.
        xy: Nx2 integer (x, y) clicks, distinct and inside the image.

    Returns:
        int32 HxW label map, region ``i`` for click ``i``.
    """
    import cv2

    tensor, _ = network_inputs(network, image, xy)
    with torch.inference_mode():
        probability = network.probability(tensor)[0].numpy()
    (height, width), scale = working_shape(image.shape[:2], WORK_SIZE)  # the grid of ``geodesic``
    if probability.shape != (height, width):
        probability = cv2.resize(probability, (width, height), interpolation=cv2.INTER_LINEAR)
    labels = shortest_path_labels(network.step_cost(probability), working_clicks(xy, scale, (height, width)))
    return full_size_labels(labels, image.shape[:2], xy)


register_click_network(ClickBoundaryNet, _boundary_labels)
