"""Pixel-scale detail of saved `panda dp-sweep` restorations, in the flat and the busy half of
each reference.

A pixel's detail is the sum of the absolute luminance differences to its right and lower
neighbours. The reference's detail, averaged over 5x5 windows, splits its pixels at the median
into a flat and a busy half; the ratio of a restoration is its mean detail over one half divided
by the reference's over the same half (1: as much detail as the reference there; above 1: added
texture; below 1: smoothed). A posterior sample under a prior that fits the image has ratios near 1.

    python -m benchmarks.dp.dp_detail_ratio SWEEP_DIR [SWEEP_DIR ...] [--out detail.json]

Prints one row per image and run (the runs each folder saved; repeated runs of several folders,
e.g. seeds, side by side), then the mean of the images per run.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy import ndimage

from benchmarks.dp.dp_region_summary import saved_images


def pixel_detail(image: np.ndarray) -> np.ndarray:
    """Absolute luminance differences to the right and lower neighbours, summed.

    Args:
        image: HxWx3 uint8 RGB.

    Returns:
        (H-1)x(W-1) float64, in intensity / 255.
    """
    luma = image.astype(np.float64) @ np.array([0.299, 0.587, 0.114]) / 255
    return np.abs(np.diff(luma, axis=1))[:-1] + np.abs(np.diff(luma, axis=0))[:, :-1]


def detail_ratios(restored: np.ndarray, reference: np.ndarray) -> dict:
    """``{'flat': ratio, 'busy': ratio}`` of a restoration against its reference (see the module)."""
    truth = pixel_detail(reference)
    local = ndimage.uniform_filter(truth, 5)
    flat = local < np.median(local)
    detail = pixel_detail(restored)
    return {'flat': float(detail[flat].mean() / truth[flat].mean()),
            'busy': float(detail[~flat].mean() / truth[~flat].mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('folders', type=Path, nargs='+', help='output folders of panda dp-sweep')
    parser.add_argument('--out', type=Path, help='write the ratios here as JSON')
    args = parser.parse_args()
    table = {}
    for folder in args.folders:
        runs = list(json.loads((folder / 'sweep.json').read_text(encoding='utf-8'))['runs'])
        for name, images in saved_images(folder, runs).items():
            for run in runs:
                table.setdefault(run, {}).setdefault(name, []).append(detail_ratios(images[run], images['reference']))
    for run, by_image in table.items():
        for name, draws in by_image.items():
            cells = ' '.join(f'{d["flat"]:.2f}/{d["busy"]:.2f}' for d in draws)
            print(f'{run:14s} {name:26s} flat/busy {cells}')
    print()
    for run, by_image in table.items():
        means = {half: np.mean([np.mean([d[half] for d in draws]) for draws in by_image.values()])
                 for half in ('flat', 'busy')}
        print(f'{run:14s} mean of images: flat {means["flat"]:.2f}, busy {means["busy"]:.2f}')
    if args.out:
        args.out.write_text(json.dumps(table, indent=1) + '\n', encoding='utf-8')


if __name__ == '__main__':
    main()
