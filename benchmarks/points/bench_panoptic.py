"""Regions without clicks: class-agnostic PQ of the second-stage panoptic segmenter beside the
superpixel and grid proposers on held-out scenes, and seconds per 512x512 photograph.

The superpixel proposer is measured with its defaults (8-24 regions) and with 4-8 regions,
about the scenes' own instance count.

    python -m benchmarks.points.bench_panoptic --data datasets/points_test.lmdb --json panoptic_bench.json

For reference, the same table holds the pseudo-labels the segmenter was trained on
(``geodesic`` regions from one click per instance), which need the clicks.
"""
from __future__ import annotations

import argparse
import json
import time

import cv2
import numpy as np
import torch

from benchmarks.timing import median_seconds
from panda_plugin.engine.data.bundled import packaged_image
from panda_plugin.engine.points.geodesic import geodesic_regions
from panda_plugin.engine.points.panoptic import PanopticSegmenter
from panda_plugin.engine.points.panoptic_quality import PanopticQuality
from panda_plugin.engine.points.points_data import PointsReader
from panda_plugin.engine.regions import GridSegmenter, SuperpixelSegmenter


def proposers(weights: list) -> dict:
    """The region proposers measured: name -> ``image -> label map``."""
    table = {}
    for name in weights:
        segmenter = PanopticSegmenter(name)
        table[f'panoptic ({segmenter.network.weights_name})'] = segmenter
    table['superpixel (default proposer)'] = SuperpixelSegmenter()
    table['superpixel, 4-8 regions'] = SuperpixelSegmenter(n_regions=8, min_regions=4)
    table['grid 4x4'] = GridSegmenter()
    return table


def speed(table: dict, repeats: int = 5) -> dict:
    """Median seconds per 512x512 photograph (held-out coffee) for each proposer."""
    image = cv2.resize(packaged_image('skimage', 'coffee'), (512, 512), interpolation=cv2.INTER_AREA)
    return {name: median_seconds(lambda segmenter=segmenter: segmenter(image), repeats)
            for name, segmenter in table.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data', default='datasets/points_test.lmdb')
    parser.add_argument('--weights', nargs='+', default=['panoptic-tiny'],
                        help='panoptic segmenter weights, one or more (default: shipped panoptic-tiny)')
    parser.add_argument('--limit', type=int, default=None)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--json', default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    table = proposers(args.weights)
    methods = {**table, 'geodesic pseudo-labels (with clicks)': None}
    meters = {name: PanopticQuality() for name in methods}
    regions = {name: [] for name in methods}
    reader = PointsReader(args.data)
    count = len(reader) if args.limit is None else min(args.limit, len(reader))
    start = time.perf_counter()
    for index in range(count):
        scene = reader.read(index)
        for name, segmenter in methods.items():
            labels = segmenter(scene['image']) if segmenter else geodesic_regions(scene['image'], scene['points'])
            meters[name].update(labels, scene['panoptic'])
            regions[name].append(int(labels.max()) + 1)
    elapsed = time.perf_counter() - start
    truth = sum(int(reader.read(i)['panoptic'].max()) + 1 for i in range(count))
    print(f'class-agnostic PQ on {count} scenes of {args.data} ({truth} instances, {elapsed:.0f} s)\n')
    print('| regions from | PQ | SQ | RQ | regions per scene |')
    print('|---|---|---|---|---|')
    results = {}
    for name, meter in meters.items():
        results[name] = {**meter.result(), 'regions_per_scene': float(np.mean(regions[name]))}
        r = results[name]
        print(f'| {name} | {r["pq"]:.1f} | {r["sq"]:.1f} | {r["rq"]:.1f} | {r["regions_per_scene"]:.1f} |')
    timings = speed(table)
    print(f'\nseconds per 512x512 image, {args.threads} thread(s):')
    for name, seconds in timings.items():
        print(f'  {name}: {seconds:.3f}')
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as handle:
            json.dump({'pq': results, 'speed_s': timings, 'data': args.data, 'scenes': count,
                       'instances': truth, 'threads': args.threads}, handle, indent=1)


if __name__ == '__main__':
    main()
