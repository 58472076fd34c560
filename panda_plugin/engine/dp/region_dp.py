"""Per-region distortion-perception: PANDA graphs of each restoration on fixed regions (``GridSegmenter``)."""
from __future__ import annotations

import numpy as np


def texture(reference: np.ndarray, labels: np.ndarray) -> dict:
    """Mean gradient magnitude of the reference in each region (0..255 scale).

    Args:
        reference: HxWx3 uint8 image.
        labels: HxW label map.

    Returns:
        ``{region id: texture}``.
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


def summarise(graphs: dict, outputs: dict, reference: np.ndarray, labels: np.ndarray, low: str, high: str) -> dict:
    """Which regions gain perceptual quality and which lose fidelity from ``low`` to ``high``.

    Perceptual gain of a region: PANDA score of the ``high`` output minus that of the ``low``
    output, both against the reference. Fidelity loss: region MSE of ``high`` minus ``low``.
    Regions are called ``texture`` when the reference's gradient there is above the median.

    Args:
        graphs: From ``region_graphs``.
        outputs: ``{method: image}``.
        reference: The clean image.
        labels: The regions.
        low: Method at the fidelity end (e.g. ``'lambda=0'``).
        high: Method at the perception end (e.g. ``'lambda=1'``).

    Returns:
        JSON-ready dict: ``regions`` (per id: bbox, texture, kind, scores, relations, gain,
        fidelity loss) and ``by_kind`` means, plus the correlation of texture with gain.
    """
    tex = texture(reference, labels)
    median = float(np.median(list(tex.values())))
    mse_low, mse_high = (region_mse(outputs[m], reference, labels) for m in (low, high))
    low_regions = {r.id: r for r in graphs[low]['vs_reference'].regions}
    rows = []
    for region in graphs[high]['vs_reference'].regions:
        base = low_regions[region.id]
        vs_base = next(r for r in graphs[high]['vs_base'].regions if r.id == region.id)
        rows.append({'id': int(region.id), 'bbox': [int(v) for v in region.bbox],
                     'texture': tex[region.id], 'kind': 'texture' if tex[region.id] > median else 'flat',
                     'score_low': float(base.anchor.score), 'score_high': float(region.anchor.score),
                     'distortion_low': base.anchor.distortion, 'distortion_high': region.anchor.distortion,
                     'relation_high_vs_low': vs_base.relation,
                     'perceptual_gain': float(region.anchor.score - base.anchor.score),
                     'fidelity_loss': mse_high[region.id] - mse_low[region.id]})
    by_kind = {}
    for kind in ('texture', 'flat'):
        part = [r for r in rows if r['kind'] == kind]
        if part:
            by_kind[kind] = {'regions': len(part),
                             'perceptual_gain': float(np.mean([r['perceptual_gain'] for r in part])),
                             'fidelity_loss': float(np.mean([r['fidelity_loss'] for r in part]))}
    gains = np.array([r['perceptual_gain'] for r in rows])
    textures = np.array([r['texture'] for r in rows])
    corr = float(np.corrcoef(textures, gains)[0, 1]) if gains.std() > 0 and textures.std() > 0 else 0.0
    return {'low': low, 'high': high, 'regions': rows, 'by_kind': by_kind,
            'texture_gain_correlation': corr,
            'gain_regions': [r['id'] for r in sorted(rows, key=lambda r: -r['perceptual_gain']) if r['perceptual_gain'] > 0],
            'loss_regions': [r['id'] for r in sorted(rows, key=lambda r: -r['fidelity_loss']) if r['fidelity_loss'] > 0]}
