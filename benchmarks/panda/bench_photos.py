"""PANDA on whole held-out photographs at 256, 512 and 1024 px: itself, whole-image blur and noise.

Images: the held-out photographs and graphic of ``make photos`` (``photos:bench``, never
trained on) and the held-out packaged images of ``bundled:bench`` at every size they reach
without upscaling; each is resized so its short side is the size and centre-cropped (as
``panda make-dataset`` does). For each weights file:

- *itself*: the clean image against itself (superpixel regions): share of regions labelled
  ``same``, and share labelled ``clean`` on both sides;
- *blur*: the image blurred as a whole with a gaussian of sigma 2 and 4 pixels (at that
  size) against the clean image: share of regions whose anchor is labelled ``blur``, share
  whose relation is ``slightly_worse`` or ``significantly_worse``, and share of images whose
  whole-image relation is worse;
- *noise* (``--noise``): the same with gaussian noise of the given standard deviations (grey
  levels, one draw per image), counting regions labelled ``noise``; the labels the anchor
  regions get are listed after the table.

Usage: python -m benchmarks.panda.bench_photos [--weights panda-tiny other.safetensors ...]
    [--sizes 256 512 1024] [--photos datasets/photos/bench] [--noise 2 4 8 16]
"""
from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

import panda_plugin
from panda_plugin.engine.data.bundled import PACKAGED, packaged_image
from panda_plugin.engine.image_io import list_images, load_image, square_crop
from panda_plugin.engine.panda.weights import load_model

SIGMAS = (2.0, 4.0)
WORSE = ('slightly_worse', 'significantly_worse')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--weights', nargs='+', default=['panda-tiny'])
    parser.add_argument('--sizes', nargs='+', type=int, default=[256, 512, 1024])
    parser.add_argument('--photos', default='datasets/photos/bench')
    parser.add_argument('--noise', nargs='*', type=float, default=[],
                        help='also whole-image gaussian noise of these standard deviations (grey levels)')
    args = parser.parse_args()
    images = [(Path(p).stem, load_image(p, convert=True)) for p in list_images(args.photos)]
    images += [(name, packaged_image(source, name)) for part, source, name in PACKAGED if part == 'bench']
    degradations = [('blur', s) for s in SIGMAS] + [('noise', s) for s in args.noise]
    print('| weights | size | images | itself: same | itself: clean both sides '
          + ''.join(f'| {kind} {s:g}: anchor {kind} | {kind} {s:g}: regions worse | {kind} {s:g}: image worse '
                    for kind, s in degradations)
          + '| s |')
    print('|---' * (6 + 3 * len(degradations)) + '|')
    labels = {}
    for weights in args.weights:
        network = load_model(weights)
        for side in args.sizes:
            start = time.time()
            used = [square_crop(image, side) for _, image in images if min(image.shape[:2]) >= side]
            regions = same = clean = 0
            counts = {d: [0, 0, 0, 0] for d in degradations}  # regions, named right, worse, images worse
            rng = np.random.default_rng(0)
            for image in used:
                itself = panda_plugin.compare(image, image, model=network, pairwise=True)
                regions += len(itself.regions)
                same += sum(r.relation == 'same' for r in itself.regions)
                clean += sum(r.anchor.distortion == r.target.distortion == 'clean' for r in itself.regions)
                for kind, level in degradations:
                    graph = panda_plugin.compare(degrade(image, kind, level, rng), image, model=network, pairwise=True)
                    count = counts[kind, level]
                    count[0] += len(graph.regions)
                    count[1] += sum(r.anchor.distortion == kind for r in graph.regions)
                    count[2] += sum(r.relation in WORSE for r in graph.regions)
                    count[3] += graph.relation in WORSE
                    labels.setdefault((weights, side, kind, level), Counter()).update(
                        r.anchor.distortion for r in graph.regions)
            row = f'| {weights} | {side} | {len(used)} | {same / regions:.2f} | {clean / regions:.2f} ({clean}/{regions}) '
            for degradation in degradations:
                n, named, worse, images_worse = counts[degradation]
                row += f'| {named / n:.2f} | {worse / n:.2f} | {images_worse}/{len(used)} '
            print(row + f'| {time.time() - start:.0f} |', flush=True)
    for (weights, side, kind, level), counter in labels.items():
        total = sum(counter.values())
        shares = ', '.join(f'{name} {n / total:.2f}' for name, n in counter.most_common())
        print(f'{weights} {side} px, {kind} {level:g}: anchor labels {shares}')


def degrade(image: np.ndarray, kind: str, level: float, rng: np.random.Generator) -> np.ndarray:
    """The whole image blurred (gaussian of sigma ``level`` pixels) or with gaussian noise of
    standard deviation ``level`` grey levels."""
    if kind == 'blur':
        return cv2.GaussianBlur(image, (0, 0), level, borderType=cv2.BORDER_REFLECT_101)
    noisy = image.astype(np.float64) + rng.normal(0.0, level, image.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


if __name__ == '__main__':
    main()
