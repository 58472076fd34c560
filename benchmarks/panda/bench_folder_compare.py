"""``panda compare DIR DIR`` against calling ``panda compare`` once per pair, side by side.

Writes N pairs of SIZE x SIZE images (bundled photographs and procedural images, centre-cropped;
each restored image a JPEG, blur, noise or down-up version of its reference), then times, in
this one run:
- ``panda compare restored reference --csv scores.csv`` once (one network, batches, images
  read and segmented beside the network);
- ``panda compare restored/X.png reference/X.png --reference --json json/X.json`` for every
  pair, one process per pair (what a shell loop does);
and checks that the CSV gives each pair the score and relation of its per-pair call, and how
many regions carry the same distortion label.

Usage: python -m benchmarks.panda.bench_folder_compare [--pairs 100] [--size 512] [--out bench_folder]
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from panda_plugin.engine.data.bundled import bundled_images
from panda_plugin.engine.image_io import save_image, square_crop


def make_pairs(out: Path, count: int, size: int) -> None:
    """Write ``count`` restored/reference pairs under ``out``."""
    for folder in ('restored', 'reference'):
        (out / folder).mkdir(parents=True, exist_ok=True)
    sources = [image for _, image in bundled_images('bench') + bundled_images('train')]
    rng = np.random.default_rng(0)
    for index in range(count):
        clean = square_crop(sources[index % len(sources)], size)
        kind = index % 4
        if kind == 0:
            _, data = cv2.imencode('.jpg', clean[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(10, 80))])
            restored = cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1]
        elif kind == 1:
            restored = cv2.GaussianBlur(clean, (0, 0), float(rng.uniform(0.6, 3)))
        elif kind == 2:
            restored = np.clip(clean + rng.normal(0, rng.uniform(3, 20), clean.shape), 0, 255).astype(np.uint8)
        else:
            factor = int(rng.integers(2, 5))
            small = cv2.resize(clean, (size // factor, size // factor), interpolation=cv2.INTER_AREA)
            restored = cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)
        save_image(out / 'restored' / f'{index:04d}.png', np.ascontiguousarray(restored))
        save_image(out / 'reference' / f'{index:04d}.png', clean)


def panda_command() -> list[str]:
    script = Path(sys.executable).with_name('panda')
    return [str(script)] if script.is_file() else [sys.executable, '-m', 'panda_plugin.adapters.cli']


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--pairs', type=int, default=100)
    parser.add_argument('--size', type=int, default=512)
    parser.add_argument('--out', default='bench_folder')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--json', help='write the results as JSON')
    args = parser.parse_args()
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    make_pairs(out, args.pairs, args.size)
    names = sorted(path.stem for path in (out / 'restored').glob('*.png'))
    panda = panda_command()
    (out / 'json').mkdir()

    start = time.perf_counter()
    subprocess.run(panda + ['compare', str(out / 'restored'), str(out / 'reference'), '--csv', str(out / 'scores.csv'),
                            '--json', str(out / 'folder_json'), '--batch-size', str(args.batch_size)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    folder = time.perf_counter() - start
    print(f'folder call: {folder:.1f} s', file=sys.stderr, flush=True)


    start = time.perf_counter()
    for name in names:
        subprocess.run(panda + ['compare', str(out / 'restored' / f'{name}.png'), str(out / 'reference' / f'{name}.png'),
                                '--reference', '--json', str(out / 'json' / f'{name}.json')],
                       check=True, stdout=subprocess.DEVNULL)
        done = names.index(name) + 1
        if done % 10 == 0:
            print(f'{done} per-pair calls: {time.perf_counter() - start:.1f} s', file=sys.stderr, flush=True)
    per_pair = time.perf_counter() - start

    with (out / 'scores.csv').open(encoding='utf-8') as handle:
        rows = {row['name']: row for row in csv.DictReader(handle)}
    differences, relations, same_labels, regions = [], 0, 0, 0
    for name in names:
        single = json.loads((out / 'json' / f'{name}.json').read_text(encoding='utf-8'))
        batched = json.loads((out / 'folder_json' / f'{name}.json').read_text(encoding='utf-8'))
        score = sum(r['anchor']['score'] * r['area'] for r in single['regions']) / sum(r['area'] for r in single['regions'])
        differences.append(abs(float(rows[name]['score']) - score))
        relations += rows[name]['relation'] == ('same' if 1 - score < 0.1 else
                                                'slightly_worse' if 1 - score < 0.3 else 'significantly_worse')
        for one, other in zip(single['regions'], batched['regions']):
            regions += 1
            same_labels += one['anchor']['distortion'] == other['anchor']['distortion']
    result = {'pairs': len(names), 'size': args.size, 'batch_size': args.batch_size,
              'per_pair_calls_s': round(per_pair, 1), 'folder_call_s': round(folder, 1),
              'speed_up': round(per_pair / folder, 2), 'max_score_difference': max(differences),
              'relations_equal': relations, 'region_distortions_equal': f'{same_labels}/{regions}',
              'machine': f'{platform.machine()}, {os.cpu_count()} CPUs'}
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1), encoding='utf-8')


if __name__ == '__main__':
    main()
