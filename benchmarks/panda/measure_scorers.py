"""Measure candidate region scorers (label oracles) on the bundled images.

For every bundled packaged image and the first 8 procedural ones (centre-cropped to 256x256),
every distortion type and every severity, the whole image is degraded and scored as one
region. Saturation changes are invisible on achromatic images, so those pairs are left out of
the two saturation rows. Reports, per scorer, the mean
score per severity, whether it strictly decreases clean > minor > moderate > severe, and
Spearman's correlation between severity and score pooled over images.

Usage: python -m benchmarks.panda.measure_scorers [--scorers ssim_psnr,psnr,...] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from panda_plugin.core.taxonomy import DISTORTION_TYPES
from panda_plugin.engine.data.bundled import bundled_images
from panda_plugin.engine.distortions import apply_distortion
from panda_plugin.engine.image_io import square_crop
from panda_plugin.engine.panda.scoring import build_scorer

DEFAULT_SCORERS = 'ssim_psnr,ssim_color,ssim,psnr,pyiqa:gmsd,pyiqa:vsi,pyiqa:fsim'


def is_achromatic(image: np.ndarray) -> bool:
    """True when an RGB image is (nearly) grey."""
    return float(np.abs(image.astype(np.float32) - image.mean(2, keepdims=True)).mean()) < 3.0


def measure(scorer_name: str, images: list, seed: int = 0) -> dict:
    """Scores of one scorer over images x distortions x severities."""
    scorer = build_scorer(scorer_name)
    result = {}
    elapsed = calls = 0
    for distortion in DISTORTION_TYPES:
        severities, scores = [], []
        for index, (_, clean) in enumerate(images):
            if distortion.startswith('saturate') and is_achromatic(clean):
                continue
            label_map = np.zeros(clean.shape[:2], np.int32)
            for severity in range(4):
                degraded = apply_distortion(clean, distortion, severity, seed=seed + index)
                start = time.perf_counter()
                score = float(scorer(degraded, clean, label_map)[0])
                elapsed += time.perf_counter() - start
                calls += 1
                severities.append(severity)
                scores.append(score)
        severities, scores = np.array(severities), np.array(scores)
        means = [float(scores[severities == s].mean()) for s in range(4)]
        result[distortion] = {
            'means': means,
            'strictly_decreasing': bool(all(a > b for a, b in zip(means, means[1:]))),
            'spearman': float(-spearmanr(severities, scores)[0]),
        }
    return {
        'per_distortion': result,
        'mean_spearman': float(np.mean([r['spearman'] for r in result.values()])),
        'all_monotone': all(r['strictly_decreasing'] for r in result.values()),
        'seconds_per_call': elapsed / calls,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--scorers', default=DEFAULT_SCORERS)
    parser.add_argument('--size', type=int, default=256)
    parser.add_argument('--json', default='docs/results/panda/labeling_measurement.json')
    args = parser.parse_args()
    bundled = bundled_images('all')
    images = [(name, square_crop(image, args.size)) for name, image in bundled
              if not name.startswith('procedural') and '_tile' not in name]
    images += [(name, square_crop(image, args.size)) for name, image in bundled
               if name.startswith('procedural')][:8]
    report = {'machine': f'{platform.machine()}, {platform.python_version()}',
              'images': [name for name, _ in images], 'size': args.size, 'scorers': {}}
    if Path(args.json).is_file():  # keep earlier measurements of other scorers
        report['scorers'] = json.loads(Path(args.json).read_text())['scorers']
    for name in args.scorers.split(','):
        report['scorers'][name] = measure(name, images)
        summary = report['scorers'][name]
        print(f'{name}: mean Spearman {summary["mean_spearman"]:.3f}, all monotone '
              f'{summary["all_monotone"]}, {1000 * summary["seconds_per_call"]:.1f} ms/call', flush=True)
        with open(args.json, 'w') as handle:
            json.dump(report, handle, indent=1)


if __name__ == '__main__':
    main()
