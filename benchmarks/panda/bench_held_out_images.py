"""PANDA on whole held-out photographs, the way a restoration user calls it.

The PANDABENCH splits degrade 80% of superpixel regions; users compare a whole image with its
reference. On every held-out packaged image (scikit-image and matplotlib, never trained on), at
256 and 512 px where the image is at least that large (an upscaled image is not clean), side by
side for each weights file:

- *itself*: the clean image against itself (superpixel regions): share of regions labelled
  ``same``, and share labelled ``clean`` on both sides;
- *quadrants*: the image with quadrants blurred (severe), noisy (moderate), JPEG-compressed
  (severe) and left clean, against the clean image, with the quadrants as regions: share of
  quadrants whose anchor distortion is right, and whose relation equals the label oracle's
  (``ssim_psnr`` scores and the 0.1/0.3 thresholds), and the SRCC of predicted against oracle
  anchor scores over all quadrants.

Usage: python -m benchmarks.panda.bench_held_out_images [--weights panda-tiny other.safetensors ...]
"""
from __future__ import annotations

import argparse

import numpy as np
from scipy.stats import spearmanr

import panda_plugin
from panda_plugin.adapters.cli.panda import DEMO_QUADRANTS, quadrant_label_map
from panda_plugin.core.taxonomy import relation_from_scores
from panda_plugin.engine.data.bundled import PACKAGED, packaged_image
from panda_plugin.engine.distortions import degrade_regions
from panda_plugin.engine.image_io import square_crop
from panda_plugin.engine.panda.scoring import build_scorer
from panda_plugin.engine.panda.weights import load_model

SIZES = (256, 512)
#: The distortion each demo quadrant carries (``clean`` for the untouched one).
EXPECTED = [chain[-1][0] if chain else 'clean' for chain in DEMO_QUADRANTS]


def check_image(network, clean: np.ndarray, scorer) -> dict:
    """The two checks on one clean image.

    Returns:
        Counts: regions, same, clean (itself); quadrant distortions right, relations right, and
        the predicted and oracle anchor scores of the quadrants.
    """
    itself = panda_plugin.compare(clean, clean, model=network, pairwise=True)
    quadrants = quadrant_label_map(clean.shape[0])
    degraded = degrade_regions(clean, quadrants, DEMO_QUADRANTS, seed=0)
    graph = panda_plugin.compare(degraded, clean, masks=quadrants, model=network, pairwise=True)
    oracle = scorer(degraded, clean, quadrants)
    return {
        'regions': len(itself.regions),
        'same': sum(r.relation == 'same' for r in itself.regions),
        'clean': sum(r.anchor.distortion == r.target.distortion == 'clean' for r in itself.regions),
        'distortion_right': sum(r.anchor.distortion == e for r, e in zip(graph.regions, EXPECTED)),
        'relation_right': sum(r.relation == relation_from_scores(s, 1.0) for r, s in zip(graph.regions, oracle)),
        'predicted': [r.anchor.score for r in graph.regions],
        'oracle': list(oracle),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--weights', nargs='+', default=['panda-tiny'])
    args = parser.parse_args()
    scorer = build_scorer('ssim_psnr')
    photographs = [packaged_image(source, name) for part, source, name in PACKAGED if part == 'bench']
    print('| weights | size | images | itself: same | itself: clean both sides | quadrants: distortion right '
          '| quadrants: relation right | quadrants: SRCC with oracle |')
    print('|---|---|---|---|---|---|---|---|')
    for weights in args.weights:
        network = load_model(weights)
        for side in SIZES:
            results = [check_image(network, square_crop(image, side), scorer)
                       for image in photographs if min(image.shape[:2]) >= side]
            total = {key: sum(r[key] for r in results) for key in ('regions', 'same', 'clean',
                                                                  'distortion_right', 'relation_right')}
            quadrants = 4 * len(results)
            srcc = spearmanr(sum((r['predicted'] for r in results), []), sum((r['oracle'] for r in results), []))[0]
            print(f"| {weights} | {side} | {len(results)} | {total['same'] / total['regions']:.2f} "
                  f"| {total['clean'] / total['regions']:.2f} ({total['clean']}/{total['regions']}) "
                  f"| {total['distortion_right'] / quadrants:.2f} ({total['distortion_right']}/{quadrants}) "
                  f"| {total['relation_right'] / quadrants:.2f} ({total['relation_right']}/{quadrants}) "
                  f'| {srcc:.3f} |')


if __name__ == '__main__':
    main()
