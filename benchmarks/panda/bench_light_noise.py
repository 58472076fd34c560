"""Light noise and film grain on whole held-out photographs: are the worse regions named ``noise``?

Images: the held-out photographs and graphic of ``make photos`` (``photos:bench``: four
photographs and the truchet graphic in its light and dark variants, never trained on, in any
crop); ``--bundled`` adds the held-out packaged images of ``bundled:bench``. Each is resized so
its short side is the size and centre-cropped (as ``panda make-dataset`` does); images smaller
than a size are left out of it.

For every size, degradation and mode (reference mode, the default of ``compare``, and the
pairwise mode), the whole image gets gaussian noise (``degradations.gaussian_noise``) or film
grain (``degradations.film_grain``) of the given standard deviation ([0, 1] scale, one draw per
image) and is compared with its clean version: regions whose relation is ``slightly_worse`` or
``significantly_worse``, and among them those whose restored side is named ``noise``. The
labels of the worse regions are listed after the table.

Usage: python -m benchmarks.panda.bench_light_noise [--weights panda-tiny other.safetensors ...]
    [--sizes 256 512 1024] [--noise 0.02 0.03 0.05] [--grain 0.03 0.05] [--bundled] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np

import panda_plugin
from panda_plugin.engine.data.bundled import PACKAGED, packaged_image
from panda_plugin.engine.distortions import degradations
from panda_plugin.engine.image_io import list_images, load_image, square_crop
from panda_plugin.engine.panda.weights import load_model

WORSE = ('slightly_worse', 'significantly_worse')
MODES = ('reference', 'pairwise')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--weights', nargs='+', default=['panda-tiny'])
    parser.add_argument('--sizes', nargs='+', type=int, default=[256, 512, 1024])
    parser.add_argument('--photos', default='datasets/photos/bench')
    parser.add_argument('--noise', nargs='*', type=float, default=[0.02, 0.03, 0.05])
    parser.add_argument('--grain', nargs='*', type=float, default=[0.03, 0.05])
    parser.add_argument('--modes', nargs='+', default=list(MODES), choices=MODES)
    parser.add_argument('--bundled', action='store_true', help='also the held-out packaged images')
    parser.add_argument('--json', help='write every count to this file')
    args = parser.parse_args()
    images = [(Path(p).stem, load_image(p, convert=True)) for p in list_images(args.photos)]
    if args.bundled:
        images += [(name, packaged_image(source, name)) for part, source, name in PACKAGED if part == 'bench']
    degradations_ = [('noise', s) for s in args.noise] + [('grain', s) for s in args.grain]
    rows = []
    print('| weights | mode | size | images | ' + ' | '.join(f'{k} {s:g}: noise / worse' for k, s in degradations_)
          + ' | s |')
    print('|---' * (5 + len(degradations_)) + '|')
    for weights in args.weights:
        network = load_model(weights)
        for mode in args.modes:
            for side in args.sizes:
                start = time.time()
                used = [(name, square_crop(image, side)) for name, image in images if min(image.shape[:2]) >= side]
                cells = []
                for kind, sigma in degradations_:
                    rng = np.random.default_rng(0)
                    worse = named = regions = 0
                    labels = Counter()
                    for _, image in used:
                        graph = panda_plugin.compare(degrade(image, kind, sigma, rng), image, model=network,
                                                     pairwise=mode == 'pairwise')
                        hits = [r for r in graph.regions if r.relation in WORSE]
                        regions += len(graph.regions)
                        worse += len(hits)
                        named += sum(r.anchor.distortion == 'noise' for r in hits)
                        labels.update(r.anchor.distortion for r in hits)
                    cells.append({'kind': kind, 'sigma': sigma, 'regions': regions, 'worse': worse,
                                  'named_noise': named, 'labels': dict(labels.most_common())})
                rows.append({'weights': weights, 'mode': mode, 'size': side, 'images': [n for n, _ in used],
                             'cells': cells, 'seconds': round(time.time() - start, 1)})
                print(f'| {weights} | {mode} | {side} | {len(used)} | '
                      + ' | '.join(f'{c["named_noise"] / max(c["worse"], 1):.2f} ({c["named_noise"]}/{c["worse"]})'
                                   for c in cells)
                      + f' | {time.time() - start:.0f} |', flush=True)
    for row in rows:
        for cell in row['cells']:
            total = max(cell['worse'], 1)
            shares = ', '.join(f'{name} {n / total:.2f}' for name, n in cell['labels'].items())
            print(f'{row["weights"]} {row["mode"]} {row["size"]} px, {cell["kind"]} {cell["sigma"]:g}: '
                  f'worse {cell["worse"]}/{cell["regions"]}; labels {shares}')
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({'rows': rows}, indent=1))


def degrade(image: np.ndarray, kind: str, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """The whole image with gaussian noise or film grain of standard deviation ``sigma``.

    Args:
        image: HxWx3 uint8 RGB image.
        kind: ``'noise'`` or ``'grain'``.
        sigma: Standard deviation on the [0, 1] scale.
        rng: Source of the noise.

    Returns:
        HxWx3 uint8 RGB image.
    """
    add = degradations.gaussian_noise if kind == 'noise' else degradations.film_grain
    work = add(image.astype(np.float32) / np.float32(255.0), sigma, rng)
    return (np.clip(work, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


if __name__ == '__main__':
    main()
