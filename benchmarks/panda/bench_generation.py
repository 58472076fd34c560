"""Throughput of ``make-dataset`` and time of the superpixel proposer, side by side.

Generation: the easy split from the first N bundled training images, at 256 and 512 pixels,
with 1 and 2 workers, all in one run (ratios matter more than absolute numbers on a shared
machine). Superpixels: median of repeated runs on astronaut at 512x512 and upscaled to
4000x3000.

Usage: python -m benchmarks.panda.bench_generation [--images 8] [--pairs 8]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import skimage.data

from panda_plugin.engine.data.bundled import export_bundled_images
from panda_plugin.engine.panda.data.builder import BuildSettings, make_dataset
from panda_plugin.engine.regions import build_segmenter


def time_generation(folder: Path, scratch: Path, size: int, workers: int, pairs: int) -> float:
    """Pairs per second of one build."""
    out = scratch / f'gen_{size}_{workers}.lmdb'
    settings = BuildSettings(split='easy', pairs_per_image=pairs, size=size, seed=0)
    start = time.perf_counter()
    report = make_dataset(folder, out, settings, workers=workers, progress=False)
    return report.records / (time.perf_counter() - start)


def time_superpixels(repeats: int = 5) -> dict:
    """Median seconds of the default proposer at two resolutions."""
    segmenter = build_segmenter('superpixel')
    image = skimage.data.astronaut()
    large = cv2.resize(image, (4000, 3000), interpolation=cv2.INTER_CUBIC)
    timings = {}
    for name, picture in (('512x512', image), ('4000x3000', large)):
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            labels = segmenter(picture)
            samples.append(time.perf_counter() - start)
        timings[name] = (statistics.median(samples), int(labels.max()) + 1)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--images', type=int, default=8)
    parser.add_argument('--pairs', type=int, default=8)
    args = parser.parse_args()
    print(f'machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}')
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        folder = scratch / 'images'
        for path in export_bundled_images(scratch / 'all', 'train')[:args.images]:
            folder.mkdir(exist_ok=True)
            path.rename(folder / path.name)
        print(f'generation, easy split, {args.images} images x {args.pairs} pairs:')
        print('| size | workers | pairs/s | vs 1 worker |')
        print('|---|---|---|---|')
        for size in (256, 512):
            single = time_generation(folder, scratch, size, 1, args.pairs)
            double = time_generation(folder, scratch, size, 2, args.pairs)
            print(f'| {size} | 1 | {single:.2f} | 1.00 |')
            print(f'| {size} | 2 | {double:.2f} | {double / single:.2f} |')
    print('\nsuperpixels (default proposer), median of 5:')
    print('| image | seconds | regions |')
    print('|---|---|---|')
    for name, (seconds, regions) in time_superpixels().items():
        print(f'| {name} | {seconds:.3f} | {regions} |')


if __name__ == '__main__':
    main()
