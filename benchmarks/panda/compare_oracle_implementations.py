"""How far the torch label oracle (``engine.panda.fidelity``) is from the numpy one it replaced.

The numpy ``PixelMapScorer`` is read from a git revision that still has it (default
``df3cb21``, the last commit before the torch measure) and run beside the current one on
held-out bundled photographs at their own size (coffee 400x600 and rocket 427x640 go through
the 512-pixel working size, gravel and immunohistochemistry are 512x512): every other
superpixel region degraded with one of six distortions at minor and at severe strength.
Reports, per measure, the mean, 99th percentile and largest absolute difference of the region
scores, how many ``ssim_psnr`` regions change their relation to the clean image, and the
median time of one ``ssim_psnr`` call of each (torch on one thread) at 256 and 512 px.

Usage: python -m benchmarks.panda.compare_oracle_implementations [--revision df3cb21]
"""
from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from benchmarks.timing import median_seconds
from panda_plugin.core.taxonomy import relation_ids_from_scores
from panda_plugin.engine.data.bundled import packaged_image
from panda_plugin.engine.distortions import apply_distortion, degrade_regions
from panda_plugin.engine.image_io import square_crop
from panda_plugin.engine.panda.scoring import PixelMapScorer
from panda_plugin.engine.regions import build_segmenter

IMAGES = ('coffee', 'rocket', 'gravel', 'immunohistochemistry')
DISTORTIONS = ('blur', 'noise', 'compression', 'saturate_dec', 'contrast_inc', 'haze')
MEASURES = ('ssim_psnr', 'ssim_color', 'ssim', 'psnr')


def old_scorer_module(revision: str):
    """The numpy scoring module of ``revision``, imported under another name."""
    root = Path(__file__).resolve().parents[2]
    source = subprocess.run(['git', '-C', str(root), 'show', f'{revision}:panda_plugin/engine/panda/scoring.py'],
                            capture_output=True, text=True, check=True).stdout
    path = Path(tempfile.mkdtemp()) / 'numpy_scoring.py'
    path.write_text(source)
    spec = importlib.util.spec_from_file_location('numpy_scoring', path)
    module = importlib.util.module_from_spec(spec)
    sys.modules['numpy_scoring'] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--revision', default='df3cb21')
    args = parser.parse_args()
    old = old_scorer_module(args.revision)
    segmenter = build_segmenter('superpixel')
    differences = {measure: [] for measure in MEASURES}
    changed = regions = 0
    for name in IMAGES:
        clean = packaged_image('skimage', name)
        label_map = segmenter(clean)
        count = int(label_map.max()) + 1
        for distortion in DISTORTIONS:
            for severity in ('minor', 'severe'):
                chains = [[(distortion, severity)] if i % 2 == 0 else [] for i in range(count)]
                degraded = degrade_regions(clean, label_map, chains, seed=0)
                for measure in MEASURES:
                    before = old.PixelMapScorer(measure)(degraded, clean, label_map)
                    after = PixelMapScorer(measure)(degraded, clean, label_map)
                    differences[measure].append(np.abs(after - before))
                    if measure == 'ssim_psnr':
                        ones = np.ones_like(after)
                        changed += int((relation_ids_from_scores(after, ones)
                                        != relation_ids_from_scores(before, ones)).sum())
                        regions += len(after)
    print(f'numpy oracle of {args.revision} against the torch one: {len(IMAGES)} photographs, '
          f'{len(DISTORTIONS)} distortions x 2 strengths, {regions} regions per measure\n')
    print('| measure | mean abs. difference | 99th percentile | largest |')
    print('|---|---|---|---|')
    for measure, values in differences.items():
        values = np.concatenate(values)
        print(f'| `{measure}` | {values.mean():.1e} | {np.percentile(values, 99):.1e} | {values.max():.1e} |')
    print(f'\n`ssim_psnr` regions whose relation to the clean image changes: {changed} of {regions}')
    torch.set_num_threads(1)
    print('\n| size | numpy ms per call | torch ms per call |\n|---|---|---|')
    for side in (256, 512):
        clean = square_crop(packaged_image('skimage', 'coffee'), side)
        degraded = apply_distortion(clean, 'blur', 2, seed=0)
        whole = np.zeros(clean.shape[:2], np.int32)
        times = [1000 * median_seconds(lambda s=scorer: s(degraded, clean, whole), 15)
                 for scorer in (old.PixelMapScorer('ssim_psnr'), PixelMapScorer('ssim_psnr'))]
        print(f'| {side} | {times[0]:.1f} | {times[1]:.1f} |')


if __name__ == '__main__':
    main()
