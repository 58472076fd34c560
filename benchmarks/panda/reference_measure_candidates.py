"""The design choices of the reference-mode measure, one at a time, against human scores.

Whole-image variants of ``fidelity.reference_distances`` (the image as one region, images
area-averaged to ``WORK_SIZE`` first) on a folder laid out like ``live-dev`` (see
``bench_human.py``): SRCC and PLCC with ``-DMOS`` overall, SRCC per distortion and the lowest
SRCC with one reference left out. Variants:

- the number of scales (1, 3, 5), equal weights against MS-SSIM's;
- the pyramid: 2x2 means against the 5-tap binomial filter (the choice), and scale 0 at the
  working size against one level coarser;
- the colour term: none, FSIMc's chroma similarity with lambda 0.03 (the choice), 0.3, 1, and
  the earlier measure's ``exp(-dE / 30)`` of the local CIELAB difference;
- the gradient constant: GMSD's 170 (the choice), 50, 600.

Usage: python -m benchmarks.panda.reference_measure_candidates DATA_DIR [--json OUT]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from panda_plugin.engine.colour import rgb_to_lab
from panda_plugin.engine.panda import fidelity as oracle_fidelity
from panda_plugin.engine.panda import human_fidelity as fidelity

MS_SSIM = fidelity.SCALE_WEIGHTS


def _bench_human():
    spec = importlib.util.spec_from_file_location('bench_human', Path(__file__).parents[1] / 'bench_human.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def distance(restored: torch.Tensor, reference: torch.Tensor, weights=MS_SSIM, pyramid: str = 'binomial',
             start: int = 0, colour: str = 'chroma', chroma_weight: float = fidelity.CHROMA_WEIGHT,
             constant: float = fidelity.GRADIENT_CONSTANT) -> float:
    """Whole-image distance of one variant (the choice with the defaults)."""
    both = fidelity.work_size(torch.cat([restored, reference]).clamp(0, 1))
    luma = torch.einsum('j,bjhw->bhw', both.new_tensor(fidelity._LUMA), both)[:, None]
    total = 0.0
    for scale in range(start + len(weights)):
        if scale:
            luma = fidelity.halve(luma) if pyramid == 'binomial' else F.avg_pool2d(luma, 2, ceil_mode=True)
        if scale >= start:
            magnitude = fidelity.gradient_magnitude(luma)[:, 0]
            gradient = fidelity._dissimilarity(magnitude[:1], magnitude[1:], constant).mean()
            total -= weights[scale - start] * float(torch.log1p(-gradient))
    means = fidelity.gaussian_blur(luma, fidelity.WINDOW_SIGMA)[:, 0]
    total -= weights[-1] * float(torch.log1p(-fidelity._dissimilarity(means[:1], means[1:],
                                                                       fidelity.LUMINANCE_CONSTANT).mean()))
    if colour == 'chroma':
        chroma = torch.einsum('ij,bjhw->bihw', both.new_tensor(fidelity._IQ), both)
        similarity = (1 - fidelity._dissimilarity(chroma[:1], chroma[1:], fidelity.CHROMA_CONSTANT)).prod(1)
        total -= float(torch.log1p(-chroma_weight * (1 - similarity).mean()))
    elif colour == 'lab':
        lab = rgb_to_lab(both)
        difference = fidelity.gaussian_blur(lab[:1] - lab[1:], fidelity.WINDOW_SIGMA)
        total -= float(torch.log(torch.exp(-difference.pow(2).sum(1).sqrt() / oracle_fidelity.COLOUR_SCALE).mean()))
    return total


VARIANTS = {
    'the choice: 5 scales, MS-SSIM weights, binomial pyramid, chroma 0.03': {},
    '1 scale': {'weights': (1.0,)},
    '3 scales, equal weights': {'weights': (1 / 3,) * 3},
    '5 scales, equal weights': {'weights': (0.2,) * 5},
    '5 scales from one level coarser': {'start': 1},
    'pyramid of 2x2 means': {'pyramid': 'mean'},
    'no colour term': {'colour': 'none'},
    'chroma weight 0.3': {'chroma_weight': 0.3},
    'chroma weight 1': {'chroma_weight': 1.0},
    'colour exp(-dE / 30) (the earlier term)': {'colour': 'lab'},
    'gradient constant 50': {'constant': 50 / 255 ** 2},
    'gradient constant 600': {'constant': 600 / 255 ** 2},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('data_dir', type=Path)
    parser.add_argument('--json', type=Path)
    args = parser.parse_args()
    bench = _bench_human()
    rows = bench.read_scores(args.data_dir)
    pairs = [(bench.load_tensor(row['dist_image']), bench.load_tensor(row['ref_image'])) for row in rows]
    dmos = np.array([row['dmos'] for row in rows])
    groups = np.array([row['distortion'] for row in rows])
    references = np.array([row['ref_image'].stem for row in rows])
    results = {}
    print('| variant | SRCC | PLCC | ' + ' | '.join(sorted(set(groups))) + ' | leave one reference out (min) |')
    print('|---|---|---|' + '---|' * len(set(groups)) + '---|')
    for name, options in VARIANTS.items():
        with torch.no_grad():
            values = -np.array([distance(a, b, **options) for a, b in pairs])
        result = bench.agreement(values, dmos, groups, references)
        results[name] = result
        print(f'| {name} | {result["all"]["srcc"]:.3f} | {result["all"]["plcc"]:.3f} | '
              + ' | '.join(f'{result[g]["srcc"]:.3f}' for g in sorted(set(groups)))
              + f' | {result["leave_one_reference_out"]["min"]:.3f} |', flush=True)
    if args.json:
        args.json.write_text(json.dumps({'data_dir': str(args.data_dir), 'results': results}, indent=1) + '\n')


if __name__ == '__main__':
    main()
