"""Panoptic quality of click regions on held-out scenes, with ablations and perturbed clicks.

Dense ground truth is read here, to score the regions and to perturb clicks; no trained
model ever sees it.
"""
from __future__ import annotations

import contextlib

import cv2
import numpy as np

from panda_plugin.engine.points.clicks import Clicks
from panda_plugin.engine.points.euclidean import euclidean_regions
from panda_plugin.engine.points.geodesic import geodesic_regions
from panda_plugin.engine.points.panoptic_quality import PanopticQuality

#: Click perturbations: the clicks as made (``exact``); each click moved to a random pixel at
#: most 2 pixels from its instance's border (``border``); a second click inside one random thing
#: (``double``); the click of one random stuff region left out (``missing_stuff``).
PERTURBATIONS = ('exact', 'border', 'double', 'missing_stuff')


def perturb(scene: dict, how: str, rng: np.random.Generator) -> tuple:
    """Clicks of a scene under one perturbation.

    Args:
        scene: Record of ``PointsReader.read``.
        how: One of ``PERTURBATIONS``.
        rng: Seeded generator.

    Returns:
        (Nx2 (x, y) clicks, N stuff flags); None when the perturbation does not apply (no
        stuff region, or a single instance for ``missing_stuff``).
    """
    points, stuff, panoptic = scene['points'].copy(), scene['stuff'].copy(), scene['panoptic']
    if how == 'exact':
        return points, stuff
    if how == 'border':
        for index in range(len(points)):
            mask = np.pad((panoptic == index).astype(np.uint8), 1)
            inner = cv2.distanceTransform(mask, cv2.DIST_L2, 3)[1:-1, 1:-1]
            rows, cols = np.nonzero((inner > 0) & (inner <= 2.5))
            pick = int(rng.integers(len(rows)))
            points[index] = (cols[pick], rows[pick])
        return points, stuff
    if how == 'double':
        things = np.flatnonzero(~stuff)
        target = int(rng.choice(things)) if len(things) else int(rng.integers(len(points)))
        rows, cols = np.nonzero(panoptic == target)
        taken = {tuple(p) for p in points.tolist()}
        free = [(c, r) for r, c in zip(rows.tolist(), cols.tolist()) if (c, r) not in taken]
        if not free:
            return None
        extra = free[int(rng.integers(len(free)))]
        return np.vstack([points, [extra]]), np.append(stuff, stuff[target])
    if how == 'missing_stuff':
        regions = np.flatnonzero(stuff)
        if len(regions) == 0 or len(points) < 2:
            return None
        drop = int(rng.choice(regions))
        keep = np.arange(len(points)) != drop
        return points[keep], stuff[keep]
    raise ValueError(f'unknown perturbation {how!r}')


@contextlib.contextmanager
def refinement(network, rounds=None, aggregate=None, enhance=None):
    """Temporarily change a ``PointDistanceNet``'s refinement (for inference ablations)."""
    saved = network.rounds, network.aggregate, network.enhance
    network.rounds = saved[0] if rounds is None else rounds
    network.aggregate = saved[1] if aggregate is None else aggregate
    network.enhance = saved[2] if enhance is None else enhance
    try:
        yield network
    finally:
        network.rounds, network.aggregate, network.enhance = saved


def method_table(networks: dict | None = None, geodesic_options: dict | None = None,
                 ablation: bool = True) -> dict:
    """The methods measured: name -> ``(image, xy, stuff) -> label map``.

    Args:
        networks: ``{label: PointDistanceNet}`` for the learned rows; None for hand-crafted only.
        geodesic_options: Options of ``geodesic_regions``.
        ablation: Add each network's refinement ablation rows. Default: True.

    Returns:
        Ordered dict of callables.
    """
    table = {'euclidean': lambda image, xy, stuff: euclidean_regions(image.shape[:2], xy),
             'geodesic': lambda image, xy, stuff: geodesic_regions(image, xy, **(geodesic_options or {}))}
    for label, network in (networks or {}).items():
        table.update(_learned_rows(label, network, ablation))
    return table


def _learned_rows(label: str, network, ablation: bool) -> dict:
    from research.point_distance.distance_arch import PointDistanceNet
    from panda_plugin.engine.points.learned import learned_regions

    def clicks(xy, stuff):
        return Clicks(xy, tuple('stuff' if s else 'thing' for s in stuff))

    if not isinstance(network, PointDistanceNet):  # no refinement rounds to ablate
        return {label: lambda image, xy, stuff: learned_regions(network, image, clicks(xy, stuff))}

    def learned(rounds=None, aggregate=None, enhance=None):
        def run(image, xy, stuff):
            with refinement(network, rounds, aggregate, enhance):
                return learned_regions(network, image, clicks(xy, stuff))
        return run

    table = {label: learned()}
    if ablation:
        table[f'{label}: no refinement (rounds 0)'] = learned(rounds=0)
        table[f'{label}: + aggregation (rounds 1)'] = learned(rounds=1, enhance=False)
        table[f'{label}: + aggregation + enhancement (rounds 1)'] = learned(rounds=1)
        for rounds in (2, 3):
            table[f'{label}: rounds {rounds}'] = learned(rounds=rounds)
    return table


def evaluate(reader, methods: dict, perturbations=PERTURBATIONS, limit: int | None = None,
             seed: int = 0) -> dict:
    """PQ/SQ/RQ of every method under every perturbation, over the same scenes and clicks.

    Args:
        reader: A ``PointsReader`` (held-out scenes).
        methods: From ``method_table``.
        perturbations: Subset of ``PERTURBATIONS``.
        limit: Use only the first ``limit`` scenes. Default: all.
        seed: Seed of the perturbations.

    Returns:
        ``{perturbation: {method: PanopticQuality.result() + {'scenes': n}}}``.
    """
    count = len(reader) if limit is None else min(limit, len(reader))
    meters = {how: {name: PanopticQuality() for name in methods} for how in perturbations}
    scenes = {how: 0 for how in perturbations}
    for index in range(count):
        scene = reader.read(index)
        for how in perturbations:
            clicks = perturb(scene, how, np.random.default_rng([seed, index, PERTURBATIONS.index(how)]))
            if clicks is None:
                continue
            scenes[how] += 1
            for name, method in methods.items():
                meters[how][name].update(method(scene['image'], clicks[0], clicks[1]), scene['panoptic'])
    return {how: {name: {**meter.result(), 'scenes': scenes[how]} for name, meter in by_method.items()}
            for how, by_method in meters.items()}
