"""Side by side: the patch mixture and the score UNet (``research/unet_prior``) as the sampler's image prior.

Run: ``python -m benchmarks.dp.dp_prior_compare --size 64 --out docs/results/dp/dp_prior_noise64.json``.
Both priors restore the same held-out photographs (centre crops of ``--size``), from the same
measurements, with the same steps and seeds; per prior and lambda the JSON holds the sweep's
measures (PSNR, MSE, patch_sw2, NIQE from 192 px) and seconds per restoration.
"""
from __future__ import annotations

import argparse
import json
import time

import research.unet_prior  # noqa: F401 (adds the unet prior)
from panda_plugin.adapters.cli.dp import NIQE_MIN_SIDE, finite, niqe_measure
from panda_plugin.engine.data.reference_images import read_images
from panda_plugin.engine.dp.priors import load_prior
from panda_plugin.engine.dp.sweep import SweepSettings, run_sweep

#: The four held-out photographs of the sweeps in docs/dp.md.
PHOTOS = ('matplotlib_grace_hopper', 'skimage_coffee', 'skimage_gravel', 'skimage_rocket')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--priors', default='gmm,unet', help='comma-separated load_prior specs')
    parser.add_argument('--degrade', default='noise:0.2')
    parser.add_argument('--lambdas', default='0,1')
    parser.add_argument('--size', type=int, default=64)
    parser.add_argument('--steps', type=int, default=50)
    parser.add_argument('--scale', type=float, default=1.0)
    parser.add_argument('--average', default='', help='N of the averaging baseline, e.g. 4')
    parser.add_argument('--deterministic', action='store_true', help='add deterministic (DDIM) sampling')
    parser.add_argument('--out', required=True)
    args = parser.parse_args()
    images = [(n, im) for n, im in read_images(['bundled:bench'], args.size) if n in PHOTOS]
    niqe = niqe_measure() if args.size >= NIQE_MIN_SIDE else None
    report = {'images': [n for n, _ in images], 'size': args.size, 'runs': {}}
    for spec in args.priors.split(','):
        settings = SweepSettings(args.degrade, tuple(float(v) for v in args.lambdas.split(',')), args.steps,
                                 averages=tuple(int(v) for v in args.average.split(',') if v),
                                 deterministic=args.deterministic, scale=args.scale)
        start = time.perf_counter()
        result = run_sweep(images, load_prior(spec), settings, {'niqe': niqe} if niqe else None,
                           progress=lambda line, s=spec: print(f'[{s}] {line}', flush=True))
        report['runs'][spec] = {'seconds': time.perf_counter() - start, **result.report}
    with open(args.out, 'w', encoding='utf-8') as handle:
        json.dump(finite(report), handle, indent=1)
    for spec, run in report['runs'].items():
        for method, values in run['runs'].items():
            mean = values['mean']
            print(f'| {spec} | {method} | ' + ' | '.join(f'{mean[k]:.4g}' if mean[k] is not None else '-'
                                                       for k in mean) + ' |')
    print(f'measures: {list(mean)}; wrote {args.out}')


if __name__ == '__main__':
    main()
