"""The swapped-arguments check of reference mode: how the network reads pairs in the right
order and swapped.

For every held-out bundled image (256 px centre crops) and eleven degradations (Gaussian blur
sigma 1/2/4, noise sigma 0.02/0.05/0.15, JPEG quality 50/15/5, bicubic x2/x4 down and up),
``compare(degraded, clean)`` (right order) and ``compare(clean, degraded)`` (swapped) are run
in reference mode and their ``network_relation`` read. Then restorations of a *grainy*
reference (clean + noise sigma 0.01/0.02/0.04): a non-local-means denoising, a Gaussian blur
of 0.8 px, the clean image and an unsharp mask, where a warning says the truth (the reference
is the more degraded image) and is still a warning a user may not expect.

    python -m benchmarks.panda.bench_swap_check --json docs/results/panda/swap_check.json

Prints the counts of warnings (``network_relation`` = ``SWAPPED_RELATION``) per case and the
whole-image score gaps, and writes every pair's numbers to the JSON.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from panda_plugin.core.taxonomy import relation_from_scores
from panda_plugin.engine.data.bundled import bundled_images
from panda_plugin.engine.image_io import square_crop
from panda_plugin.engine.panda.predictor import image_scores, label_maps_of, predict, resolve_model
from panda_plugin.engine.panda.reference import SWAPPED_RELATION
from panda_plugin.engine.regions import build_segmenter


def _noise(image, sigma, rng):
    return np.clip(image + rng.normal(0, 255 * sigma, image.shape), 0, 255).astype(np.uint8)


def _jpeg(image, quality):
    _, data = cv2.imencode('.jpg', image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    return np.ascontiguousarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1])


def _bicubic(image, factor):
    height, width = image.shape[:2]
    small = cv2.resize(image, (width // factor, height // factor), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)


def degradations(rng) -> dict:
    """Name -> function of an HxWx3 uint8 image."""
    found = {f'blur {s}': (lambda s: lambda im: cv2.GaussianBlur(im, (0, 0), s))(s) for s in (1, 2, 4)}
    found |= {f'noise {s}': (lambda s: lambda im: _noise(im, s, rng))(s) for s in (0.02, 0.05, 0.15)}
    found |= {f'jpeg {q}': (lambda q: lambda im: _jpeg(im, q))(q) for q in (50, 15, 5)}
    return found | {f'bicubic x{f}': (lambda f: lambda im: _bicubic(im, f))(f) for f in (2, 4)}


def restorations(reference) -> dict:
    """Name -> restoration of a grainy reference."""
    sharpened = cv2.addWeighted(reference, 1.6, cv2.GaussianBlur(reference, (0, 0), 1.5), -0.6, 0)
    return {'nl-means': cv2.fastNlMeansDenoisingColored(reference, None, 6, 6, 7, 21),
            'blur 0.8': cv2.GaussianBlur(reference, (0, 0), 0.8), 'unsharp mask': sharpened}


def network_pair(network, segmenter, restored, reference) -> tuple[float, float]:
    """The network's whole-image scores of both images (regions from the reference)."""
    tensors = [torch.from_numpy(np.ascontiguousarray(im)).permute(2, 0, 1)[None].float() / 255
               for im in (restored, reference)]
    labels = label_maps_of(tensors[1], segmenter)
    with torch.no_grad():
        outputs = predict(network, *tensors, labels)
    return tuple(float(image_scores(outputs[f'{side}_score'], labels)[0]) for side in ('anchor', 'target'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size', type=int, default=256)
    parser.add_argument('--json', required=True)
    args = parser.parse_args()
    network, segmenter, rng = resolve_model(), build_segmenter('superpixel'), np.random.default_rng(0)
    rows, start = [], time.perf_counter()
    for name, image in bundled_images('bench'):
        clean = np.ascontiguousarray(square_crop(image, args.size))
        for kind, degrade in degradations(rng).items():
            degraded = np.ascontiguousarray(degrade(clean))
            for order, pair in (('right', (degraded, clean)), ('swapped', (clean, degraded))):
                restored, reference = network_pair(network, segmenter, *pair)
                rows.append({'image': name, 'case': kind, 'order': order, 'restored': restored,
                             'reference': reference, 'relation': relation_from_scores(restored, reference)})
        if name.startswith('procedural'):
            continue
        for sigma in (0.01, 0.02, 0.04):
            grainy = _noise(clean, sigma, rng)
            for kind, restored_image in (restorations(grainy) | {'clean': clean}).items():
                restored, reference = network_pair(network, segmenter, restored_image, grainy)
                rows.append({'image': name, 'case': f'grainy reference {sigma}, restored: {kind}', 'order': 'right',
                             'restored': restored, 'reference': reference,
                             'relation': relation_from_scores(restored, reference)})
    groups = {'right order, synthetic degradations': [r for r in rows if r['order'] == 'right'
                                                      and not r['case'].startswith('grainy')],
              'swapped, synthetic degradations': [r for r in rows if r['order'] == 'swapped'],
              'swapped, photographs (skimage, matplotlib)': [r for r in rows if r['order'] == 'swapped'
                                                              and not r['image'].startswith('procedural')],
              'grainy reference, restored cleaner or sharper': [r for r in rows if r['case'].startswith('grainy')]}
    summary = {}
    for group, members in groups.items():
        gaps = [r['restored'] - r['reference'] for r in members]
        summary[group] = {'pairs': len(members), 'warned': sum(r['relation'] == SWAPPED_RELATION for r in members),
                          'restored_better_at_all': sum(g > 0 for g in gaps),
                          'largest_gap': max(gaps), 'smallest_gap': min(gaps)}
        print(f'{group}: {summary[group]["warned"]} of {len(members)} warned; restored - reference '
              f'from {min(gaps):+.3f} to {max(gaps):+.3f}')
    Path(args.json).write_text(json.dumps({
        'command': f'python -m benchmarks.panda.bench_swap_check --size {args.size} --json {args.json}',
        'machine': f'{platform.machine()}, 2 CPU cores shared', 'seconds': time.perf_counter() - start,
        'warning_relation': SWAPPED_RELATION, 'summary': summary, 'pairs': rows}, indent=1), encoding='utf-8')


if __name__ == '__main__':
    main()
