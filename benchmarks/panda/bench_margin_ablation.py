"""Quality-margin ablation: PANDA trained with L1 only vs L1 + margin, on the bench splits.

Both runs share data, seed and learning-rate schedule (``options/train_panda_tiny_scratch.yml``,
the first stage of the shipped recipe, and ``options/train_panda_tiny_l1only.yml``); their checkpoints of the same iteration are
benchmarked one after the other in one run, on the same regions.

Usage: python -m benchmarks.panda.bench_margin_ablation [--iteration 1000]
"""
from __future__ import annotations

import argparse

from panda_plugin.engine.panda.benchmark import run_bench
from panda_plugin.engine.panda.evaluation import METRICS
from panda_plugin.engine.panda.weights import load_model, network_options

RUNS = {
    'L1 only (margin_weight 0)': ('experiments/panda_tiny_l1', 'options/train_panda_tiny_l1only.yml'),
    'L1 + margin (margin_weight 0.5)': ('experiments/panda_tiny_scratch', 'options/train_panda_tiny_scratch.yml'),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iteration', type=int, default=1000)
    parser.add_argument('--splits', nargs='+', default=['easy', 'medium', 'hard'])
    args = parser.parse_args()
    networks = {name: load_model(f'{folder}/models/net_g_{args.iteration}.pth', config=network_options(options))
                for name, (folder, options) in RUNS.items()}
    print(f'checkpoints of iteration {args.iteration}\n')
    print('| split | loss | ' + ' | '.join(METRICS) + ' |')
    print('|---|---|' + '---|' * len(METRICS))
    for split in args.splits:
        for name, network in networks.items():
            metrics = run_bench(f'datasets/bench_{split}.lmdb', network, progress=False)['methods']
            values = next(iter(metrics.values()))
            print(f'| {split.capitalize()} | {name} | ' + ' | '.join(f'{values[m]:.3f}' for m in METRICS) + ' |')


if __name__ == '__main__':
    main()
