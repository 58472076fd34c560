"""Fit the calibration of the reference-mode score on human scores, and plot score against DMOS.

For every image of a folder laid out like ``live-dev`` (``scores.csv``, see
``bench_human.py``), the distance ``d`` of the whole restored image from its reference
(``human_fidelity.reference_distances`` with one region). The 5-parameter logistic of DMOS on
``log d`` is fit (least squares); the distances at which it reaches ``--same-dmos`` and
``--significant-dmos`` are where the calibration ``1 / (1 + (d / d_half) ** p)`` must give
0.9 (the ``same`` limit) and 0.7 (the ``significantly_worse`` limit), which fixes ``d_half``
and ``p``. The figure shows the scores of the pyiqa metric ``panda`` (superpixel regions,
the package's current calibration) against DMOS, with both limits.

Usage: python -m benchmarks.panda.fit_reference_calibration DATA_DIR [--same-dmos 10]
       [--significant-dmos 50] [--figure docs/images/calibration_live_dev.png] [--json OUT]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import numpy as np
import torch
from scipy.optimize import brentq, curve_fit

#: Relation limits of the score (``taxonomy``: a gap of 0.1 is ``slightly_worse``, 0.3
#: ``significantly_worse``).
SAME_LIMIT, SIGNIFICANT_LIMIT = 0.9, 0.7


def _bench_human():
    """The sibling script ``bench_human.py`` (its reader, image loader and logistic)."""
    spec = importlib.util.spec_from_file_location('bench_human', Path(__file__).parents[1] / 'bench_human.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fit(distances: np.ndarray, dmos: np.ndarray, same_dmos: float, significant_dmos: float) -> dict:
    """Calibration parameters from whole-image distances and DMOS.

    Args:
        distances: Whole-image distances (> 0).
        dmos: Their DMOS (lower = better).
        same_dmos: DMOS that should score ``SAME_LIMIT``.
        significant_dmos: DMOS that should score ``SIGNIFICANT_LIMIT``.

    Returns:
        ``half_score_distance``, ``score_exponent``, the logistic's parameters, the distances
        at both DMOS and the RMS error of the logistic in DMOS.
    """
    logistic5 = _bench_human().logistic5
    x = np.log(distances)
    params, _ = curve_fit(logistic5, x, dmos, p0=[np.ptp(dmos), 1.0, np.median(x), 0.0, np.mean(dmos)],
                          maxfev=20000)
    low, high = x.min() - 5, x.max() + 5
    at = {level: float(np.exp(brentq(lambda t, level=level: logistic5(t, *params) - level, low, high)))
          for level in (same_dmos, significant_dmos)}
    # 1 / (1 + (d / h) ** p) = s  <=>  (d / h) ** p = 1 / s - 1
    odds_same, odds_significant = 1 / SAME_LIMIT - 1, 1 / SIGNIFICANT_LIMIT - 1
    exponent = np.log(odds_significant / odds_same) / np.log(at[significant_dmos] / at[same_dmos])
    half = at[same_dmos] / odds_same ** (1 / exponent)
    rms = float(np.sqrt(np.mean((logistic5(x, *params) - dmos) ** 2)))
    return {'half_score_distance': float(half), 'score_exponent': float(exponent), 'logistic': params.tolist(),
            'distance_at_dmos': {str(k): v for k, v in at.items()}, 'logistic_rms_dmos': rms}


def plot(path: Path, dmos: np.ndarray, scores: np.ndarray, groups: np.ndarray, same_dmos: float,
         significant_dmos: float) -> None:
    """Score against DMOS, one colour per distortion, with the relation limits."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for group, marker in zip(sorted(set(groups)), 'osd^v<>'):
        mask = groups == group
        axes.scatter(dmos[mask], scores[mask], s=18, marker=marker, label=f'{group} ({mask.sum()})')
    for level, dmos_level, name in ((SAME_LIMIT, same_dmos, 'same | slightly_worse'),
                                    (SIGNIFICANT_LIMIT, significant_dmos, 'slightly | significantly_worse')):
        axes.axhline(level, color='grey', lw=0.8, ls='--')
        axes.axvline(dmos_level, color='grey', lw=0.8, ls=':')
        axes.text(dmos.max(), level + 0.005, name, ha='right', va='bottom',
                  fontsize=8, color='grey')
    axes.set_xlabel('DMOS (realigned; lower is better)')
    axes.set_ylabel('PANDA reference-mode score')
    axes.legend(fontsize=8, loc='lower left')
    axes.grid(alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('data_dir', type=Path)
    parser.add_argument('--same-dmos', type=float, default=10.0)
    parser.add_argument('--significant-dmos', type=float, default=50.0)
    parser.add_argument('--figure', type=Path, default=Path('docs/images/calibration_live_dev.png'))
    parser.add_argument('--json', type=Path)
    args = parser.parse_args()
    import pyiqa

    import panda_plugin  # noqa: F401  (registers the metric panda with pyiqa)
    from panda_plugin.engine.panda.human_fidelity import reference_distances

    bench = _bench_human()
    rows = bench.read_scores(args.data_dir)
    metric = pyiqa.create_metric('panda', device='cpu')
    distances, scores = [], []
    with torch.no_grad():
        for row in rows:
            restored, reference = bench.load_tensor(row['dist_image']), bench.load_tensor(row['ref_image'])
            whole = np.zeros(restored.shape[-2:], np.int64)
            distances.append(float(reference_distances(restored, reference, [whole])[0][0]))
            scores.append(float(metric(restored, reference)))
    dmos = np.array([row['dmos'] for row in rows])
    groups = np.array([row['distortion'] for row in rows])
    result = fit(np.array(distances), dmos, args.same_dmos, args.significant_dmos)
    scores = np.array(scores)
    bands = {}
    for name, low, high in (('below same', -np.inf, args.same_dmos),
                            ('between', args.same_dmos, args.significant_dmos),
                            ('above significant', args.significant_dmos, np.inf)):
        mask = (dmos >= low) & (dmos < high)
        bands[name] = {'images': int(mask.sum()), 'same': float(np.mean(scores[mask] > SAME_LIMIT)),
                       'slightly_worse': float(np.mean((scores[mask] <= SAME_LIMIT) & (scores[mask] > SIGNIFICANT_LIMIT))),
                       'significantly_worse': float(np.mean(scores[mask] <= SIGNIFICANT_LIMIT))}
    result.update({'data_dir': str(args.data_dir), 'images': len(rows), 'same_dmos': args.same_dmos,
                   'significant_dmos': args.significant_dmos, 'bands_of_the_metric_scores': bands})
    print(json.dumps(result, indent=1))
    plot(args.figure, dmos, scores, groups, args.same_dmos, args.significant_dmos)
    print(f'wrote {args.figure}')
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + '\n')


if __name__ == '__main__':
    main()
