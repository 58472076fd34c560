"""A region-dependent lambda against global ones: denoising with a lambda per pixel.

The lambda map is read from the measurement: each pixel's detail energy (squared differences to
its neighbours, summed over channels and averaged over a 15 x 15 window) splits the image at its
median into a flatter and a busier half; the flatter half gets ``--flat`` and the busier half
``--busy``, blended over a 9 x 9 window. The global lambdas and the map restore every image with
the same measurement and seeds, side by side; each run gets PSNR, MSE, patch_sw2, NIQE, panda_fd
(per image; pooled over the images in the mean) and the detail ratios of ``dp_detail_ratio.py``.

    python -m benchmarks.dp.dp_lambda_map IMAGES... [--degrade noise:0.2] [--lambdas 0.5,0.75,1]
        [--flat 0.5] [--busy 1] [--size 192] [--steps 200] [--seed 0] [--out lambda_map.json]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from benchmarks.dp.dp_detail_ratio import detail_ratios
from panda_plugin.adapters.cli.dp import niqe_measure
from panda_plugin.engine.data.reference_images import read_images
from panda_plugin.engine.dp.operators import parse_degradation
from panda_plugin.engine.dp.priors import load_prior
from panda_plugin.engine.dp.restore import measure, restore, to_image, to_tensor
from panda_plugin.engine.dp.sweep import SweepResult, add_means, add_panda_fd, base_measures


def local_energy(y: torch.Tensor, window: int = 15) -> torch.Tensor:
    """Squared neighbour differences of 1 x C x H x W images, summed over channels, window-averaged."""
    dh = F.pad((y[..., :, 1:] - y[..., :, :-1]) ** 2, (0, 1, 0, 0), mode='replicate')
    dv = F.pad((y[..., 1:, :] - y[..., :-1, :]) ** 2, (0, 0, 0, 1), mode='replicate')
    energy = (dh + dv).sum(1, keepdim=True)
    return F.avg_pool2d(F.pad(energy, (window // 2,) * 4, mode='replicate'), window, stride=1)


def lambda_map(y: torch.Tensor, flat: float, busy: float, blend: int = 9) -> torch.Tensor:
    """1 x 1 x H x W lambdas: ``flat`` below the median local energy of ``y``, ``busy`` above."""
    energy = local_energy(y)
    hard = torch.where(energy > energy.median(), busy, flat).to(y.dtype)
    return F.avg_pool2d(F.pad(hard, (blend // 2,) * 4, mode='replicate'), blend, stride=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('images', nargs='+', help='image files or folders (centre-cropped to --size)')
    parser.add_argument('--degrade', default='noise:0.2')
    parser.add_argument('--lambdas', default='0.5,0.75,1', help='the global lambdas to compare with')
    parser.add_argument('--flat', type=float, default=0.5)
    parser.add_argument('--busy', type=float, default=1.0)
    parser.add_argument('--size', type=int, default=192)
    parser.add_argument('--steps', type=int, default=200)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', type=Path, default=Path('lambda_map.json'))
    args = parser.parse_args()
    degradation = parse_degradation(args.degrade)
    prior = load_prior(None, args.seed)
    niqe = niqe_measure() if args.size >= 192 else None
    runs = [f'lambda={v}' for v in args.lambdas.split(',')] + [f'map={args.flat}/{args.busy}']
    result = SweepResult({'settings': vars(args) | {'out': str(args.out)}, 'measures': [],
                          'runs': {run: {'per_image': {}} for run in runs}})
    for index, (name, reference) in enumerate(read_images(args.images, args.size)):
        y = measure(reference, degradation, args.seed + index)
        result.images[name] = {'reference': reference}
        for run in runs:
            kind, _, value = run.partition('=')
            lam = float(value) if kind == 'lambda' else lambda_map(y, args.flat, args.busy)
            start = time.perf_counter()
            restored = to_image(restore(prior, degradation, y, to_tensor(reference).shape, lam, args.steps,
                                        seed=args.seed + 1000 * index))
            row = base_measures(restored, reference) | detail_ratios(restored, reference)
            if niqe:
                row['niqe'] = niqe(restored, reference)
            row['seconds'] = time.perf_counter() - start
            result.report['runs'][run]['per_image'][name] = row
            result.images[name][run] = restored
            print(f'{name} {run}: ' + ', '.join(f'{k} {v:.4g}' for k, v in row.items()), flush=True)
    add_means(result)
    add_panda_fd(result)
    for run in runs:
        print(f'{run:16s} mean: ' + ', '.join(f'{k} {v:.4g}' for k, v in result.report['runs'][run]['mean'].items()))
    args.out.write_text(json.dumps(result.report, indent=1) + '\n', encoding='utf-8')


if __name__ == '__main__':
    main()
