"""PANDA on whole held-out photographs at 256, 512 and 1024 px: itself and whole-image blur.

Images: the held-out photographs and graphic of ``make photos`` (``photos:bench``, never
trained on) and the held-out packaged images of ``bundled:bench`` at every size they reach
without upscaling; each is resized so its short side is the size and centre-cropped (as
``panda make-dataset`` does). For each weights file:

- *itself*: the clean image against itself (superpixel regions): share of regions labelled
  ``same``, and share labelled ``clean`` on both sides;
- *blur*: the image blurred as a whole with a gaussian of sigma 2 and 4 pixels (at that
  size) against the clean image: share of regions whose anchor is labelled ``blur``, share
  whose relation is ``slightly_worse`` or ``significantly_worse``, and share of images whose
  whole-image relation is worse.

Usage: python benchmarks/bench_photos.py [--weights panda-tiny other.safetensors ...]
    [--sizes 256 512 1024] [--photos datasets/photos/bench]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2

import panda_plugin
from panda_plugin.engine.data.bundled import PACKAGED, packaged_image
from panda_plugin.engine.image_io import list_images, load_image, square_crop
from panda_plugin.engine.weights import load_model

SIGMAS = (2.0, 4.0)
WORSE = ('slightly_worse', 'significantly_worse')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--weights', nargs='+', default=['panda-tiny'])
    parser.add_argument('--sizes', nargs='+', type=int, default=[256, 512, 1024])
    parser.add_argument('--photos', default='datasets/photos/bench')
    args = parser.parse_args()
    images = [(Path(p).stem, load_image(p, convert=True)) for p in list_images(args.photos)]
    images += [(name, packaged_image(source, name)) for part, source, name in PACKAGED if part == 'bench']
    print('| weights | size | images | itself: same | itself: clean both sides '
          + ''.join(f'| blur {s:g}: anchor blur | blur {s:g}: regions worse | blur {s:g}: image worse ' for s in SIGMAS)
          + '| s |')
    print('|---' * (6 + 3 * len(SIGMAS)) + '|')
    for weights in args.weights:
        network = load_model(weights)
        for side in args.sizes:
            start = time.time()
            used = [square_crop(image, side) for _, image in images if min(image.shape[:2]) >= side]
            regions = same = clean = 0
            blur = {s: [0, 0, 0, 0] for s in SIGMAS}  # regions, blur, worse, images worse
            for image in used:
                itself = panda_plugin.compare(image, image, model=network)
                regions += len(itself.regions)
                same += sum(r.relation == 'same' for r in itself.regions)
                clean += sum(r.anchor.distortion == r.target.distortion == 'clean' for r in itself.regions)
                for sigma in SIGMAS:
                    blurred = cv2.GaussianBlur(image, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)
                    graph = panda_plugin.compare(blurred, image, model=network)
                    counts = blur[sigma]
                    counts[0] += len(graph.regions)
                    counts[1] += sum(r.anchor.distortion == 'blur' for r in graph.regions)
                    counts[2] += sum(r.relation in WORSE for r in graph.regions)
                    counts[3] += graph.relation in WORSE
            row = f'| {weights} | {side} | {len(used)} | {same / regions:.2f} | {clean / regions:.2f} ({clean}/{regions}) '
            for sigma in SIGMAS:
                n, b, w, i = blur[sigma]
                row += f'| {b / n:.2f} | {w / n:.2f} | {i}/{len(used)} '
            print(row + f'| {time.time() - start:.0f} |', flush=True)


if __name__ == '__main__':
    main()
