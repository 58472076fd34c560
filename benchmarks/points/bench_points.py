"""Click regions: class-agnostic PQ on held-out scenes (methods, ablation, perturbed clicks)
and speed for 20 clicks on a 512x512 photograph.

    python -m benchmarks.points.bench_points --data datasets/points_test.lmdb --json points_bench.json

The learned rows use the trained networks of ``--weights`` (default: the shipped ``points-boundary``);
the ablation rows of a ``PointDistanceNet`` switch refinement off or change the number of rounds
at inference. With
``--exact-only`` every weights file gets one row (clicks as made, no inference-time ablation,
no perturbed clicks), as for the retrained ablation variants:

    python -m benchmarks.points.bench_points --exact-only --weights experiments/points_ablation_r0.safetensors ...
"""
from __future__ import annotations

import argparse
import json
import time

import cv2
import numpy as np
import torch

from benchmarks.points.evaluation import PERTURBATIONS, evaluate, method_table
from benchmarks.timing import median_seconds
from panda_plugin.engine.data.bundled import packaged_image
from panda_plugin.engine.points import click_regions
from panda_plugin.engine.points.learned import load_point_model
from panda_plugin.engine.points.points_data import PointsReader
from panda_plugin.engine.regions import SuperpixelSegmenter


def speed(weights, repeats: int = 5) -> dict:
    """Median seconds per image: 20 clicks on a 512x512 photograph (held-out coffee)."""
    image = cv2.resize(packaged_image('skimage', 'coffee'), (512, 512), interpolation=cv2.INTER_AREA)
    flat = np.random.default_rng(0).choice(512 * 512, 20, replace=False)
    clicks = [(int(index % 512), int(index // 512)) for index in flat]
    runs = {'learned': lambda: click_regions(image, clicks, 'learned', weights=weights),
            'geodesic': lambda: click_regions(image, clicks, 'geodesic'),
            'euclidean': lambda: click_regions(image, clicks, 'euclidean'),
            'superpixel (no clicks)': lambda: SuperpixelSegmenter()(image)}
    return {name: median_seconds(run, repeats) for name, run in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data', default='datasets/points_test.lmdb')
    parser.add_argument('--weights', nargs='+', default=[None],
                        help='click-model weights, one or more (default: shipped points-boundary); the '
                             'first is the one timed')
    parser.add_argument('--limit', type=int, default=None)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--json', default=None)
    parser.add_argument('--exact-only', action='store_true',
                        help='one row per weights, exact clicks only (no ablation rows, no perturbed clicks)')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    networks = {}
    for weights in args.weights:
        network = load_point_model(weights)
        networks[f'learned ({network.weights_name})'] = network
    reader = PointsReader(args.data)
    start = time.perf_counter()
    results = evaluate(reader, method_table(networks, ablation=not args.exact_only), ('exact',), limit=args.limit)
    groups = [('exact',)]
    if not args.exact_only:
        results.update(evaluate(reader, method_table(networks, ablation=False), PERTURBATIONS[1:], limit=args.limit))
        groups.append(PERTURBATIONS[1:])
    elapsed = time.perf_counter() - start
    print(f'class-agnostic PQ / SQ / RQ on {args.data} ({elapsed:.0f} s)\n')
    for group in groups:
        methods = list(results[group[0]])
        print('| method | ' + ' | '.join(f'{how} ({results[how][methods[0]]["scenes"]} scenes) PQ / SQ / RQ'
                                          for how in group) + ' |')
        print('|---|' + '---|' * len(group))
        for name in methods:
            cells = [f'{r["pq"]:.1f} / {r["sq"]:.1f} / {r["rq"]:.1f}' for r in (results[h][name] for h in group)]
            print(f'| {name} | ' + ' | '.join(cells) + ' |')
        print()
    timings = speed(args.weights[0])
    print(f'\nseconds per 512x512 image, 20 clicks, {args.threads} thread(s):')
    for name, seconds in timings.items():
        print(f'  {name}: {seconds:.3f}')
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as handle:
            json.dump({'pq': results, 'speed_s': timings, 'data': args.data, 'threads': args.threads}, handle, indent=1)


if __name__ == '__main__':
    main()
