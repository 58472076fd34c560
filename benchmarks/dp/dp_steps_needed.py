"""How many reverse steps the distortion-perception tradeoff needs: lambda = 0.5 against 1.

For the README's sweeps (``noise:0.2`` with the 6x6 mixture, ``sr:4`` with the 8x8 mixture,
both with the exact conditional score) and deblurring (``blur:2``, DPS, guidance 3), on the
four held-out bundled photographs at 128 px, each step count restores at lambda 0.5 and 1 and
measures PSNR, patch_sw2 and panda_fd (pooled over the images). The tradeoff holds at a step
count when lambda = 1 has the lower PSNR and is better (lower) on both perception measures
(``holds``); ``holds_one`` when it is better on at least one of them.

    python -m benchmarks.dp.dp_steps_needed --out docs/results/dp/dp_steps_needed.json
    python -m benchmarks.dp.dp_steps_needed --only noise:0.2 --steps 400,800 --append \
        --out docs/results/dp/dp_steps_needed.json

Writes the JSON (per degradation and step count: the means of both lambdas, ``holds``,
``holds_one``, the seconds; ``--append`` adds to the runs already there) and prints one row
per run.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from panda_plugin.adapters.cli.dp import finite
from panda_plugin.engine.data.reference_images import read_images
from panda_plugin.engine.dp.priors import load_prior
from panda_plugin.engine.dp.sweep import SweepSettings, add_panda_fd, run_sweep

#: The four held-out bundled photographs of docs/dp.md ("bench4").
BENCH4 = ['matplotlib_grace_hopper', 'skimage_coffee', 'skimage_gravel', 'skimage_rocket']
#: (degradation, prior, guidance scale) of each sweep measured.
SWEEPS = [('noise:0.2', 'gmm', 1.0), ('sr:4', 'gmm8', 1.0), ('blur:2', 'gmm', 3.0)]
#: Perception measures that must improve from lambda 0.5 to 1 (lower is better for both).
PERCEPTION = ('patch_sw2', 'panda_fd')


def tradeoff_holds(half: dict, full: dict, need=all) -> bool:
    """Whether lambda = 1 (``full``) gives up PSNR for better perception than 0.5 (``half``):
    on every perception measure (``need=all``) or on one (``need=any``)."""
    return full['psnr'] < half['psnr'] and need(full[m] < half[m] for m in PERCEPTION)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--steps', default='25,50,100,200', help='step counts, comma-separated')
    parser.add_argument('--size', type=int, default=128)
    parser.add_argument('--only', help='measure this degradation of SWEEPS only (e.g. noise:0.2)')
    parser.add_argument('--append', action='store_true', help='keep the runs already in --out')
    parser.add_argument('--out', required=True, help='JSON file')
    args = parser.parse_args()
    images = read_images('bundled:bench', args.size, names=BENCH4)
    out = Path(args.out)
    rows = json.loads(out.read_text(encoding='utf-8'))['runs'] if args.append and out.exists() else []
    commands = [f'python -m benchmarks.dp.dp_steps_needed --steps {args.steps} --size {args.size}'
                + (f' --only {args.only}' if args.only else '')]
    if rows:
        commands = json.loads(out.read_text(encoding='utf-8'))['commands'] + commands
    for degradation, prior_name, scale in SWEEPS:
        if args.only and degradation != args.only:
            continue
        prior = load_prior(prior_name, 0)
        for steps in (int(s) for s in args.steps.split(',')):
            start = time.perf_counter()
            result = run_sweep(images, prior, SweepSettings(degradation, (0.5, 1.0), steps, 0, scale=scale))
            add_panda_fd(result)
            means = {m: {k: v for k, v in run['mean'].items() if k != 'seconds'}
                     for m, run in result.report['runs'].items()}
            row = {'degradation': degradation, 'prior': prior_name, 'scale': scale, 'steps': steps,
                   'conditioning': result.report['conditioning'],
                   'holds': tradeoff_holds(means['lambda=0.5'], means['lambda=1']),
                   'holds_one': tradeoff_holds(means['lambda=0.5'], means['lambda=1'], any),
                   'means': means, 'seconds': time.perf_counter() - start}
            rows.append(row)
            print(f"{degradation:>10} {prior_name:>5} {steps:>4} steps: "
                  + '; '.join(f"{m} psnr {v['psnr']:.2f} sw2 {v['patch_sw2']:.4f} fd {v['panda_fd']:.3f}"
                              for m, v in means.items())
                  + f" -> holds {row['holds']}, on one measure {row['holds_one']} ({row['seconds']:.0f} s)",
                  flush=True)
            out.write_text(json.dumps(finite({
                'commands': commands,
                'machine': f'{platform.machine()}, {platform.processor() or "cpu"}, 2 cores shared',
                'images': BENCH4, 'size': args.size, 'rule': 'lambda=1 has lower PSNR and lower '
                'patch_sw2 and panda_fd than lambda=0.5', 'runs': rows}), indent=1), encoding='utf-8')


if __name__ == '__main__':
    main()
