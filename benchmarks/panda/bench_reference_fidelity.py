"""The reference-mode region measure as a loss and its cost: gradients and time, side by side
with the earlier measure (the label oracle's ``ssim_psnr`` pooled over whole regions) in one
run.

- *gradients*: the region scores of ``human_fidelity.reference_fidelity`` and the gradient of their
  sum with respect to the restored image for a random image against another random image, a
  random image against a photograph, a photograph against a flat grey image, near-identical
  pairs (the photograph with Gaussian noise of sigma 1/255, with one pixel changed by 1/255)
  and identical pairs: whether every gradient is finite and whether it is non-zero (expected:
  non-zero for every non-identical pair, exactly zero for identical ones);
- *time*: median seconds of the region scores of a 512x512 pair (scikit-image's coffee,
  JPEG quality 30, superpixel regions of the reference), forward and forward plus backward,
  for the new measure and the earlier one.

Usage: python -m benchmarks.panda.bench_reference_fidelity [--repeats 20] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import platform

import numpy as np
import skimage.data
import torch
from benchmarks.timing import median_seconds

from panda_plugin.engine.distortions.degradations import jpeg_compress
from panda_plugin.engine.panda.fidelity import Calibration, batch_fidelity
from panda_plugin.engine.panda.human_fidelity import reference_fidelity
from panda_plugin.engine.image_io import square_crop
from panda_plugin.engine.panda.predictor import label_maps_of
from panda_plugin.engine.regions import build_segmenter


def tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float() / 255


def earlier_measure(restored, reference, label_maps):
    """The reference-mode measure before multi-scale gradients: ``ssim_psnr`` over whole
    regions with the PSNR mapped from [10, 52] dB."""
    return batch_fidelity(restored, reference, label_maps, 'ssim_psnr', {'psnr': Calibration(10.0, 52.0)}, border=0)


def gradient_check(photo: torch.Tensor, label_map: np.ndarray) -> list[dict]:
    """Scores and gradients of ``reference_fidelity`` for pairs from random to identical."""
    generator = torch.Generator().manual_seed(0)
    random_a = torch.rand(photo.shape, generator=generator)
    random_b = torch.rand(photo.shape, generator=generator)
    one_pixel = photo.clone()
    one_pixel[0, :, 100, 100] = (one_pixel[0, :, 100, 100] + 1 / 255).clamp(max=1)
    noisy = (photo + torch.randn(photo.shape, generator=generator) / 255).clamp(0, 1)
    pairs = {
        'random against random': (random_a, random_b, False),
        'random against the photograph': (random_a, photo, False),
        'flat grey against the photograph': (torch.full_like(photo, 0.5), photo, False),
        'photograph + noise sigma 1/255': (noisy, photo, False),
        'photograph, one pixel changed by 1/255': (one_pixel, photo, False),
        'photograph against itself': (photo.clone(), photo, True),
        'random against itself': (random_a.clone(), random_a, True),
    }
    rows = []
    for name, (restored, reference, identical) in pairs.items():
        restored = restored.clone().requires_grad_(True)
        scores = reference_fidelity(restored, reference, [label_map])[0]
        scores.sum().backward()
        gradient = restored.grad
        rows.append({'pair': name, 'identical': identical, 'image_score_min': float(scores.detach().min()),
                     'image_score_max': float(scores.detach().max()),
                     'gradient_finite': bool(torch.isfinite(gradient).all()),
                     'gradient_norm': float(gradient.norm()),
                     'expected': bool(torch.isfinite(gradient).all()) and (float(gradient.norm()) == 0) == identical})
    return rows


def time_measures(restored: torch.Tensor, reference: torch.Tensor, label_map: np.ndarray, repeats: int) -> dict:
    """Median seconds of both measures on one pair, forward and forward plus backward."""

    def forward(measure):
        with torch.no_grad():
            measure(restored, reference, [label_map])

    def backward(measure):
        pred = restored.clone().requires_grad_(True)
        measure(pred, reference, [label_map])[0].sum().backward()

    times = {}
    for name, measure in (('new', reference_fidelity), ('earlier', earlier_measure)):
        times[name] = {'forward': median_seconds(lambda measure=measure: forward(measure), repeats),
                       'forward_backward': median_seconds(lambda measure=measure: backward(measure), repeats)}
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument('--json', help='write the results here')
    args = parser.parse_args()
    clean = square_crop(skimage.data.coffee(), 512)
    degraded = np.clip(np.asarray(jpeg_compress(clean.astype(np.float32) / 255, 30)) * 255 + 0.5, 0, 255)
    photo, restored = tensor(clean), tensor(degraded.astype(np.uint8))
    label_map = label_maps_of(photo, build_segmenter('superpixel'))[0]
    label_map = label_map.numpy() if torch.is_tensor(label_map) else np.asarray(label_map)
    rows = gradient_check(photo, label_map)
    times = time_measures(restored, photo, label_map, args.repeats)
    print(f'gradients (512x512, {int(label_map.max()) + 1} superpixel regions)')
    print('| pair | region scores | gradient finite | gradient norm | as expected |\n|---|---|---|---|---|')
    for row in rows:
        print(f'| {row["pair"]} | {row["image_score_min"]:.6f}-{row["image_score_max"]:.6f} | '
              f'{row["gradient_finite"]} | {row["gradient_norm"]:.3g} | {row["expected"]} |')
    print(f'\ntime of the region scores of a 512x512 pair, {torch.get_num_threads()} torch threads (median of {args.repeats})')
    print('| measure | forward (ms) | forward + backward (ms) |\n|---|---|---|')
    for name, row in times.items():
        print(f'| {name} | {row["forward"] * 1e3:.1f} | {row["forward_backward"] * 1e3:.1f} |')
    added = {key: times['new'][key] - times['earlier'][key] for key in ('forward', 'forward_backward')}
    ratio = {key: times['new'][key] / times['earlier'][key] for key in ('forward', 'forward_backward')}
    print(f'added: forward {added["forward"] * 1e3:+.1f} ms (ratio {ratio["forward"]:.2f}), '
          f'forward + backward {added["forward_backward"] * 1e3:+.1f} ms (ratio {ratio["forward_backward"]:.2f})')
    if args.json:
        with open(args.json, 'w') as handle:
            json.dump({'machine': f'{platform.machine()}, {torch.get_num_threads()} torch threads',
                       'regions': int(label_map.max()) + 1, 'gradients': rows, 'seconds': times,
                       'added_seconds': added, 'ratio': ratio}, handle, indent=1)


if __name__ == '__main__':
    main()
