"""Speed, memory and consistency of ``compare`` with the shipped weights.

Side by side in one run, on the same 512x512 pair (a held-out bundled image, degraded by
quadrant, against its clean version):
- ``panda_plugin.compare`` end to end (superpixel regions, model, graph);
- the network alone, and the superpixel proposer alone;
- pyiqa's ``topiq_fr`` architecture (CFANet, ResNet-50, random weights: no download) on the
  same pair, which gives one number for the whole image.

Then the peak resident memory of a fresh process comparing a 2048x2048 pair, and three
consistency checks: an image against itself, anchor and target swapped, the same call twice.

Usage: python -m benchmarks.panda.bench_compare [--repeats 15]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys

import numpy as np
import torch

import panda_plugin
from benchmarks.timing import median_seconds
from panda_plugin.adapters.cli.panda import DEMO_QUADRANTS, quadrant_label_map
from panda_plugin.engine.data.bundled import packaged_image
from panda_plugin.engine.distortions import degrade_regions
from panda_plugin.engine.image_io import square_crop
from panda_plugin.engine.panda.predictor import predict_regions, resolve_model
from panda_plugin.engine.regions import build_segmenter

MEMORY_PROBE = """
import resource, sys, cv2, numpy as np, panda_plugin
from panda_plugin.engine.data.bundled import packaged_image
from panda_plugin.engine.image_io import square_crop
side = int(sys.argv[1])
clean = cv2.resize(square_crop(packaged_image('matplotlib', 'grace_hopper.jpg'), 512), (side, side),
                   interpolation=cv2.INTER_CUBIC)
noisy = np.clip(clean + np.random.default_rng(0).normal(0, 12, clean.shape), 0, 255).astype(np.uint8)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
graph = panda_plugin.compare(noisy, clean)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(before / 2**20, peak / 2**20, len(graph.regions))
"""


def demo_pair(side: int) -> tuple[np.ndarray, np.ndarray]:
    """A held-out image degraded by quadrant (blur, noise, compression, clean) and its clean version."""
    clean = square_crop(packaged_image('matplotlib', 'grace_hopper.jpg'), side)
    return degrade_regions(clean, quadrant_label_map(side), DEMO_QUADRANTS, seed=0), clean


def topiq_fr_random():
    """pyiqa's TOPIQ-FR network with random weights, and a function scoring one uint8 pair."""
    from pyiqa.archs.topiq_arch import CFANet

    network = CFANet(semantic_model_name='resnet50', model_name='cfanet_fr_kadid_res50', use_ref=True,
                     backbone_pretrain=False, pretrained=False).eval()

    def score(anchor: np.ndarray, target: np.ndarray) -> float:
        pair = [torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255 for image in (anchor, target)]
        with torch.inference_mode():
            return float(network(pair[0], pair[1]))
    return score


def consistency(anchor: np.ndarray, target: np.ndarray) -> dict:
    """The three checks of docs/benchmarks.md on one pair."""
    itself = panda_plugin.compare(target, target)
    gaps = [abs(r.anchor.score - r.target.score) for r in itself.regions]
    forward = panda_plugin.compare(anchor, target)
    backward = panda_plugin.compare(target, anchor, masks=forward.label_map)
    mirrored = forward.mirror()
    agree = np.mean([a.relation == b.relation for a, b in zip(mirrored.regions, backward.regions)])
    twice = panda_plugin.compare(anchor, target).to_json() == forward.to_json()
    return {
        'self_regions': len(itself.regions),
        'self_all_same': all(r.relation == 'same' for r in itself.regions),
        'self_all_clean': all(r.anchor.distortion == r.target.distortion == 'clean' for r in itself.regions),
        'self_max_score_gap': max(gaps),
        'swap_mirror_fraction': float(agree),
        'identical_json_twice': twice,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count())
    print(f'machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, '
          f'torch {torch.__version__}, {torch.get_num_threads()} threads')
    anchor, target = demo_pair(512)
    network = resolve_model()
    segmenter = build_segmenter('superpixel')
    labels = segmenter(target)
    topiq = topiq_fr_random()
    timings = {
        'compare, end to end': median_seconds(lambda: panda_plugin.compare(anchor, target), args.repeats),
        'superpixel regions only': median_seconds(lambda: segmenter(target), args.repeats),
        'PANDA network only': median_seconds(lambda: predict_regions(network, anchor, target, labels),
                                             args.repeats),
        'pyiqa topiq_fr (random weights)': median_seconds(lambda: topiq(anchor, target), args.repeats),
    }
    reference = timings['pyiqa topiq_fr (random weights)']
    print(f'\n512x512 pair, {int(labels.max()) + 1} regions, median of {args.repeats}:')
    print('| what | median s | vs topiq_fr |')
    print('|---|---|---|')
    for name, seconds in timings.items():
        print(f'| {name} | {seconds:.3f} | {seconds / reference:.2f} |')

    probe = subprocess.run([sys.executable, '-c', MEMORY_PROBE, '2048'], capture_output=True, text=True,
                           check=True)
    before, peak, regions = probe.stdout.split()
    print(f'\n2048x2048 pair ({regions} regions), fresh process: peak resident memory {float(peak):.2f} GiB '
          f'({float(before):.2f} GiB after imports and loading the pair)')

    print('\nconsistency on the 512x512 pair:')
    print(json.dumps(consistency(anchor, target), indent=1))


if __name__ == '__main__':
    main()
