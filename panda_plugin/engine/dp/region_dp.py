"""Per-region distortion-perception: PANDA graphs of each restoration on fixed regions (``GridSegmenter``)."""
from __future__ import annotations

import numpy as np
import torch

from panda_plugin.engine.panda.reference import reference_measures


def gradient(reference: np.ndarray, labels: np.ndarray) -> dict:
    """Mean gradient magnitude of the reference in each region (0..255 scale).

    Args:
        reference: HxWx3 uint8 image.
        labels: HxW label map.

    Returns:
        ``{region id: mean gradient magnitude}``.
    """
    grey = reference.astype(np.float64).mean(2)
    gy, gx = np.gradient(grey)
    magnitude = np.hypot(gx, gy)
    return {int(i): float(magnitude[labels == i].mean()) for i in np.unique(labels)}


def region_mse(image: np.ndarray, reference: np.ndarray, labels: np.ndarray) -> dict:
    """Per-region MSE on a [0, 1] scale."""
    err = ((image.astype(np.float64) - reference.astype(np.float64)) / 255.0) ** 2
    err = err.mean(2)
    return {int(i): float(err[labels == i].mean()) for i in np.unique(labels)}


def plane_points(outputs: dict, reference: np.ndarray, labels: np.ndarray) -> dict:
    """Every region of every output on the distortion-perception plane: its fidelity and its
    texture score against the reference (reference mode, ``engine.panda.reference`` and
    ``engine.panda.texture``).

    Args:
        outputs: ``{method: HxWx3 uint8 restoration}``.
        reference: The clean image.
        labels: Fixed regions (HxW label map).

    Returns:
        ``{method: {'fidelity': [per region], 'texture': [per region]}}``.
    """
    methods = list(outputs)
    restored = torch.from_numpy(np.stack([outputs[m] for m in methods])).permute(0, 3, 1, 2).float() / 255
    target = (torch.from_numpy(np.ascontiguousarray(reference)).permute(2, 0, 1).float() / 255).expand_as(restored)
    label_maps = [labels] * len(methods)
    with torch.no_grad():
        fidelity, texture = reference_measures(restored, target, label_maps)
    return {m: {'fidelity': fidelity[i].tolist(), 'texture': texture[i].tolist()} for i, m in enumerate(methods)}


def region_graphs(outputs: dict, reference: np.ndarray, labels: np.ndarray, base: str, compare, model=None) -> dict:
    """PANDA graphs of every output against the reference and against the ``base`` output.

    Args:
        outputs: ``{method: HxWx3 uint8 restoration}``.
        reference: The clean image.
        labels: Fixed regions (HxW label map).
        base: The method the others are also compared with (e.g. ``'lambda=0'``).
        compare: ``panda_plugin.compare``-like callable.
        model: PANDA network or weights (default: shipped).

    Returns:
        ``{method: {'vs_reference': graph, 'vs_base': graph}}``.
    """
    return {method: {'vs_reference': compare(image, reference, masks=labels, model=model, pairwise=True),
                     'vs_base': compare(image, outputs[base], masks=labels, model=model, pairwise=True)}
            for method, image in outputs.items()}


def summarise(graphs: dict, outputs: dict, reference: np.ndarray, labels: np.ndarray, low: str, high: str,
              plane: dict | None = None) -> dict:
    """Which regions gain perceptual quality and which lose fidelity from ``low`` to ``high``.

    Perceptual gain of a region: PANDA score of the ``high`` output minus that of the ``low``
    output, both against the reference. Fidelity loss: region MSE of ``high`` minus ``low``.
    Regions are called ``texture`` (busy) when the reference's mean gradient magnitude there is
    above the median, ``flat`` otherwise.

    Args:
        graphs: From ``region_graphs``.
        outputs: ``{method: image}``.
        reference: The clean image.
        labels: The regions.
        low: Method at the fidelity end (e.g. ``'lambda=0'``).
        high: Method at the perception end (e.g. ``'lambda=1'``).
        plane: ``plane_points`` of the outputs. Default: none.

    Returns:
        JSON-ready dict: ``regions`` (per id: bbox, gradient, kind, scores, relations, gain,
        fidelity loss and, with ``plane``, ``fidelity`` and ``texture`` per method) and
        ``by_kind`` means (with ``plane``, mean fidelity and texture per method too), plus the
        correlation of the gradient with the gain.
    """
    tex = gradient(reference, labels)
    median = float(np.median(list(tex.values())))
    mse_low, mse_high = (region_mse(outputs[m], reference, labels) for m in (low, high))
    low_regions = {r.id: r for r in graphs[low]['vs_reference'].regions}
    rows = []
    for region in graphs[high]['vs_reference'].regions:
        base = low_regions[region.id]
        vs_base = next(r for r in graphs[high]['vs_base'].regions if r.id == region.id)
        rows.append({'id': int(region.id), 'bbox': [int(v) for v in region.bbox],
                     'gradient': tex[region.id], 'kind': 'texture' if tex[region.id] > median else 'flat',
                     'score_low': float(base.anchor.score), 'score_high': float(region.anchor.score),
                     'distortion_low': base.anchor.distortion, 'distortion_high': region.anchor.distortion,
                     'relation_high_vs_low': vs_base.relation,
                     'perceptual_gain': float(region.anchor.score - base.anchor.score),
                     'fidelity_loss': mse_high[region.id] - mse_low[region.id]})
        if plane is not None:
            rows[-1].update({key: {m: values[key][region.id] for m, values in plane.items()}
                             for key in ('fidelity', 'texture')})
    by_kind = {}
    for kind in ('texture', 'flat'):
        part = [r for r in rows if r['kind'] == kind]
        if part:
            by_kind[kind] = {'regions': len(part),
                             'perceptual_gain': float(np.mean([r['perceptual_gain'] for r in part])),
                             'fidelity_loss': float(np.mean([r['fidelity_loss'] for r in part]))}
            if plane is not None:
                by_kind[kind].update({key: {m: float(np.mean([r[key][m] for r in part])) for m in plane}
                                      for key in ('fidelity', 'texture')})
    gains = np.array([r['perceptual_gain'] for r in rows])
    gradients = np.array([r['gradient'] for r in rows])
    corr = float(np.corrcoef(gradients, gains)[0, 1]) if gains.std() > 0 and gradients.std() > 0 else 0.0
    return {'low': low, 'high': high, 'regions': rows, 'by_kind': by_kind,
            'gradient_gain_correlation': corr,
            'gain_regions': [r['id'] for r in sorted(rows, key=lambda r: -r['perceptual_gain']) if r['perceptual_gain'] > 0],
            'loss_regions': [r['id'] for r in sorted(rows, key=lambda r: -r['fidelity_loss']) if r['fidelity_loss'] > 0]}
