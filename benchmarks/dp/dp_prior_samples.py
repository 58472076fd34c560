"""Images drawn from an image prior by the unconditional sampler (lambda = 1), as PNG files.

Restoring such images separates the sampler from the prior: for them the prior is the right
one, so what a lambda sweep shows about the perception end is the sampler's doing. Sample k
uses seed ``SEED + k`` for its start noise and the prior's tile offsets; keep these apart from
the seeds a sweep restores with (``panda dp-sweep --seed S`` uses ``S + 1000 i`` for image i),
or a restoration retraces the path that drew its own reference.

    python -m benchmarks.dp.dp_prior_samples OUT_DIR [--prior gmm] [--count 4] [--size 192] [--steps 1000] [--seed 100]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from panda_plugin.engine.dp.priors import load_prior
from panda_plugin.engine.dp.restore import to_image
from panda_plugin.engine.dp.sampler import reverse_diffusion
from panda_plugin.engine.dp.schedule import vp_schedule
from panda_plugin.engine.image_io import save_image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out', type=Path, help='folder for prior_sample_<k>.png')
    parser.add_argument('--prior', default='gmm', help='image prior (as panda dp-sweep --prior)')
    parser.add_argument('--count', type=int, default=4)
    parser.add_argument('--size', type=int, default=192)
    parser.add_argument('--steps', type=int, default=1000)
    parser.add_argument('--seed', type=int, default=100)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    schedule = vp_schedule(args.steps)
    for k in range(args.count):
        start = time.perf_counter()
        prior = load_prior(args.prior, seed=args.seed + k)
        g = torch.Generator().manual_seed(args.seed + k)
        noise = torch.randn((1, 3, args.size, args.size), generator=g, dtype=torch.float64)
        x0 = reverse_diffusion(prior, noise, schedule, 1.0, generator=g).x0
        path = args.out / f'prior_sample_{args.seed + k}.png'
        save_image(path, to_image(x0))
        print(f'{path} ({time.perf_counter() - start:.0f} s)', flush=True)


if __name__ == '__main__':
    main()
