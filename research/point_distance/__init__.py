"""The anchor-query click distance ``PointDistanceNet`` (``points-tiny``) and its ablations.

Importing this package adds ``PointDistanceNet`` to the ``learned`` click method
(``engine.points.learned.register_click_network``) and, once BasicSR is imported,
``PointDistanceNet``, ``PointDistanceLoss`` and ``PointDistanceModel`` to BasicSR's registries.
``python -m research.point_distance ARGS`` runs the ``panda`` command with them (``train``,
``export-point-weights``, ``regions --weights research/point_distance/points-tiny.safetensors``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from research.point_distance.distance_arch import PointDistanceNet
from panda_plugin.adapters.import_hooks import when_imported
from panda_plugin.engine.points.clicks import Clicks
from panda_plugin.engine.points.geodesic import batch_geodesic_distances
from panda_plugin.engine.points.learned import network_inputs, register_click_network
from panda_plugin.engine.points.scaling import full_size_labels

#: The experiment's weights (``points-tiny``: 16.6 PQ on held-out scenes, against 57.0 for the default).
WEIGHTS = Path(__file__).with_name('points-tiny.safetensors')


def distance_regions(network: PointDistanceNet, image: np.ndarray, clicks: Clicks, rounds=None) -> np.ndarray:
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
    prior = batch_geodesic_distances(tensor, points, valid) if network.geodesic_prior else None
    with torch.inference_mode():
        distances = network(tensor, points, valid, stuff, rounds=rounds, prior=prior)[-1]
        distances = F.interpolate(distances, size=image.shape[:2], mode='bilinear', align_corners=False)
        labels = distances[0].argmin(0).numpy().astype(np.int32)
    return full_size_labels(labels, image.shape[:2], clicks.xy)


def _register_basicsr() -> None:
    from research.point_distance.distance_loss import PointDistanceLoss
    from research.point_distance.points_model import PointDistanceModel
    from panda_plugin.adapters.basicsr.registry import register_objects

    register_objects({'arch': [PointDistanceNet], 'loss': [PointDistanceLoss], 'model': [PointDistanceModel]})


register_click_network(PointDistanceNet, distance_regions)
when_imported('basicsr', _register_basicsr)
