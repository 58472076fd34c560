"""PANDA's reference mode on photographs never trained on: identity, degradation ladders and
whole-image relations, beside SSIM, MS-SSIM and PSNR measured in the same run.

Images: the held-out photographs of ``bundled:bench`` (scikit-image's coffee, rocket,
immunohistochemistry, coins, gravel, clock, text and matplotlib's grace_hopper) and
scikit-learn's two sample photographs (china, flower), each resized (short side) and
centre-cropped to ``--size`` pixels (``image_io.square_crop``). Side by side:

- *identity*: the pyiqa metric ``panda`` on each image against itself, and on its JPEG-q10,
  blur-sigma-3 and noise-0.1 versions against themselves (expected: exactly 1);
- *ladders*: JPEG quality 92 -> 5, Gaussian blur sigma 0.6 -> 4.5, Gaussian noise sigma
  0.01 -> 0.16 (on [0, 1]), bicubic down-up 1.5x -> 6x, desaturation 0.15 -> 1 (share of the
  HSV saturation removed): the score of each step against the clean image with pyiqa's
  ``panda``, ``ssim`` and ``ms_ssim`` (their defaults: on luma) and PSNR (RGB); per ladder the
  mean Spearman correlation of each measure with the ladder order (a measure that gives
  every step the same value counts 0; grey images are left out of the desaturation ladder);
- *visible*: for the visible steps (blur sigma >= 2, JPEG quality <= 18, noise sigma >= 0.06,
  down-up >= 3x), whether the reference against itself scores above the degraded image, and
  the whole-image relation ``compare(degraded, clean)`` gives (target:
  ``worse`` in >= 95% of cases);
- *meaning*: for each ladder, the step at which the mean PANDA score crosses 0.9, 0.8 and
  0.6 (linear interpolation), with the mean PSNR, SSIM and MS-SSIM there;
- *clean*: the photographs and the procedural graphics of ``bundled:bench`` against
  themselves with ``compare(...)`` at 256, 512 and 1024 px: share of regions
  ``clean`` on both sides and ``same``.

Usage: python -m benchmarks.panda.bench_reference_ladders [--size 512] [--clean-sizes 256 512 1024]
       [--json reference_ladders.json] [--markdown reference_ladders.md]
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import cv2
import numpy as np
import pyiqa
import torch
from scipy.stats import spearmanr

import panda_plugin
from panda_plugin.engine.data.bundled import PACKAGED, PROCEDURAL_SEEDS, packaged_image
from panda_plugin.engine.data.procedural import procedural_image
from panda_plugin.engine.distortions.degradations import gaussian_blur, gaussian_noise, jpeg_compress
from panda_plugin.engine.distortions.photometric import scale_saturation
from panda_plugin.engine.image_io import square_crop

#: Ladder name -> (parameter name, steps from mildest to strongest).
LADDERS = {
    'jpeg': ('quality', [92, 75, 50, 30, 18, 10, 5]),
    'blur': ('sigma', [0.6, 1.2, 2, 3, 4.5]),
    'noise': ('sigma', [0.01, 0.02, 0.04, 0.06, 0.1, 0.16]),
    'downup': ('factor', [1.5, 2, 3, 4, 6]),
    'desaturation': ('share removed', [0.15, 0.3, 0.5, 0.75, 1.0]),
}
#: Steps that are visible on a photograph.
VISIBLE = {'jpeg': [18, 10, 5], 'blur': [2, 3, 4.5], 'noise': [0.06, 0.1, 0.16], 'downup': [3, 4, 6]}
LEVELS = (0.9, 0.8, 0.6)


def photographs(folder: str | None = None) -> list[tuple[str, np.ndarray]]:
    """The held-out bundled photographs and scikit-learn's sample photographs, or every image
    of ``folder``."""
    from sklearn.datasets import load_sample_images

    if folder:
        from panda_plugin.engine.image_io import list_images, load_image

        return [(path.stem, load_image(path, convert=True)) for path in list_images(folder)]
    images = [(Path(name).stem, packaged_image(source, name)) for part, source, name in PACKAGED if part == 'bench']
    sample = load_sample_images()
    return images + [(Path(name).stem, image) for name, image in zip(sample.filenames, sample.images)]


def degrade(image: np.ndarray, ladder: str, value: float, seed: int) -> np.ndarray:
    """One ladder step of a uint8 RGB image."""
    pixels = image.astype(np.float32) / 255
    if ladder == 'jpeg':
        out = jpeg_compress(pixels, int(value))
    elif ladder == 'blur':
        out = gaussian_blur(pixels, value)
    elif ladder == 'noise':
        out = gaussian_noise(pixels, value, np.random.default_rng(seed))
    elif ladder == 'downup':
        height, width = image.shape[:2]
        small = cv2.resize(pixels, (round(width / value), round(height / value)), interpolation=cv2.INTER_CUBIC)
        out = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    else:
        out = scale_saturation(pixels, 1 - value)
    return np.clip(np.asarray(out) * 255 + 0.5, 0, 255).astype(np.uint8)


def tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float() / 255


def psnr(image: np.ndarray, reference: np.ndarray) -> float:
    error = np.mean((image.astype(np.float64) - reference) ** 2)
    return float('inf') if error == 0 else float(10 * np.log10(255.0 ** 2 / error))


def order_correlation(values: list[float]) -> float:
    """Spearman correlation of the negated values with the ladder order (0 if all equal)."""
    if np.ptp(values) == 0:
        return 0.0
    return float(spearmanr(np.arange(len(values)), -np.asarray(values))[0])


def crossing(levels: list[float], scores: list[float], others: dict, target: float) -> dict | None:
    """Where the mean score first falls to ``target`` (linear interpolation), with the other measures there."""
    for i in range(len(scores) - 1):
        if scores[i] >= target > scores[i + 1]:
            t = (scores[i] - target) / (scores[i] - scores[i + 1])
            return {'step': levels[i] + t * (levels[i + 1] - levels[i]),
                    **{k: v[i] + t * (v[i + 1] - v[i]) for k, v in others.items()}}
    if scores and scores[0] < target:
        return {'step': f'< {levels[0]}'}
    return None


def bands(ladders: dict, width: float = 0.03) -> dict:
    """Every ladder step of every image whose PANDA score lies within ``width`` of 0.9, 0.8
    or 0.6: how many, the median PSNR, SSIM and MS-SSIM, and the median step per ladder."""
    result = {}
    for level in LEVELS:
        points = [(ladder, data['steps'][i], step) for ladder, data in ladders.items() for entry in data['images']
                  for i, step in enumerate(entry['steps']) if abs(step['panda'] - level) <= width]
        result[str(level)] = {
            'count': len(points),
            **{key: float(np.median([p[2][key] for p in points])) if points else None
               for key in ('psnr', 'ssim', 'ms_ssim')},
            'steps': {ladder: float(np.median([p[1] for p in points if p[0] == ladder]))
                      for ladder in ladders if any(p[0] == ladder for p in points)}}
    return result


PARTS = ('identity', 'ladders', 'visible', 'clean')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size', type=int, default=512)
    parser.add_argument('--images', help='a folder of photographs to use instead of the named set')
    parser.add_argument('--clean-sizes', type=int, nargs='+', default=[256, 512, 1024])
    parser.add_argument('--parts', nargs='+', choices=PARTS, default=list(PARTS),
                        help='measure only these parts (to spread a run over processes)')
    parser.add_argument('--ladders', nargs='+', choices=list(LADDERS), default=list(LADDERS))
    parser.add_argument('--merge', nargs='+', help='only merge the JSON files of such partial runs and report')
    parser.add_argument('--json', default='reference_ladders.json')
    parser.add_argument('--markdown', default='reference_ladders.md')
    args = parser.parse_args()
    if args.merge:
        results = merge([json.loads(Path(path).read_text()) for path in args.merge])
    else:
        results = measure_parts(args)
        Path(args.json).write_text(json.dumps(results))  # the raw measurements first
        results = summarise(results)
    with open(args.json, 'w') as handle:
        json.dump(results, handle, indent=1)
    if all(part in results for part in ('identity', 'ladders', 'visible', 'clean')):
        markdown = report(results)
        with open(args.markdown, 'w') as handle:
            handle.write(markdown)
        print(markdown)


def measure_parts(args) -> dict:
    """The parts of a run named by ``args.parts``, as a JSON-able dict."""
    start = time.time()
    panda = pyiqa.create_metric('panda', device='cpu')
    ssim = pyiqa.create_metric('ssim', device='cpu')
    ms_ssim = pyiqa.create_metric('ms_ssim', device='cpu')
    images = [(name, square_crop(image, args.size)) for name, image in photographs(args.images)]

    def score(image, reference) -> float:
        with torch.no_grad():
            return float(panda(tensor(image), tensor(reference)))

    def measure(image, reference) -> dict:
        a, b = tensor(image), tensor(reference)
        with torch.no_grad():
            return {'panda': score(image, reference), 'ssim': float(ssim(a, b)), 'ms_ssim': float(ms_ssim(a, b)),
                    'psnr': psnr(image, reference)}

    options = ' '.join(f'--{k.replace("_", "-")} {" ".join(map(str, v)) if isinstance(v, list) else v}'
                       for k, v in vars(args).items() if v is not None)
    results = {'commands': [f'python -m benchmarks.panda.bench_reference_ladders {options}'],
               'machine': f'{platform.machine()}, {torch.get_num_threads()} torch threads, '
                          f'Python {platform.python_version()}',
               'images': [name for name, _ in images], 'size': args.size}

    if 'identity' in args.parts:
        identity = []
        for index, (name, image) in enumerate(images):
            row = {'image': name}
            for label, (ladder, value) in {'clean': (None, None), 'jpeg_q10': ('jpeg', 10), 'blur_3': ('blur', 3),
                                           'noise_0.1': ('noise', 0.1)}.items():
                version = image if ladder is None else degrade(image, ladder, value, index)
                row[label] = score(version, version)
            identity.append(row)
        results['identity'] = identity
        print('identity done', flush=True)

    if 'ladders' in args.parts:
        ladders = {}
        for ladder in args.ladders:
            parameter, steps = LADDERS[ladder]
            per_image = []
            for index, (name, image) in enumerate(images):
                grey = bool(np.all(image[..., 0] == image[..., 1]) and np.all(image[..., 1] == image[..., 2]))
                if ladder == 'desaturation' and grey:
                    continue
                versions = [degrade(image, ladder, v, index) for v in steps]
                per_image.append({'image': name, 'steps': [measure(version, image) for version in versions]})
            ladders[ladder] = {'parameter': parameter, 'steps': steps, 'images': per_image}
            print(ladder, 'done', flush=True)
        results['ladders'] = ladders

    if 'visible' in args.parts:
        cases = []
        for index, (name, image) in enumerate(images):
            itself = score(image, image)
            for ladder, values in VISIBLE.items():
                for value in values:
                    degraded = degrade(image, ladder, value, index)
                    graph = panda_plugin.compare(degraded, image)
                    metric_score = score(degraded, image)
                    cases.append({'image': name, 'ladder': ladder, 'value': value, 'relation': graph.relation,
                                  'anchor_score': graph.anchor_score, 'metric_score': metric_score,
                                  'reference_above': itself > metric_score})
        results['visible'] = {'cases': cases}
        print('visible done', flush=True)

    if 'clean' in args.parts:
        graphics = [(f'procedural_{seed:04d}', procedural_image(seed)) for seed in PROCEDURAL_SEEDS['bench']]
        clean = []
        for side in args.clean_sizes:
            regions = both_clean = same = 0
            for name, image in photographs(args.images) + graphics:
                picture = square_crop(image, side)
                graph = panda_plugin.compare(picture, picture)
                regions += len(graph.regions)
                both_clean += sum(r.anchor.distortion == r.target.distortion == 'clean' for r in graph.regions)
                same += sum(r.relation == 'same' for r in graph.regions)
            clean.append({'size': side, 'images': len(photographs(args.images)) + len(graphics), 'regions': regions,
                          'clean_both': both_clean / regions, 'same': same / regions})
            print('clean', side, 'done', flush=True)
        results['clean'] = clean
    results['seconds'] = time.time() - start
    return results


def merge(runs: list[dict]) -> dict:
    """One result from partial runs of the same images and size."""
    merged = {'commands': [], 'seconds': 0.0, 'ladders': {}}
    for run in runs:
        if run['images'] != runs[0]['images'] or run['size'] != runs[0]['size']:
            raise SystemExit('partial runs of different images or sizes cannot be merged')
        merged['commands'] += run['commands']
        merged['seconds'] += run['seconds']
        merged['ladders'].update({name: {k: data[k] for k in ('parameter', 'steps', 'images')}
                                  for name, data in run.get('ladders', {}).items()})
        for key in ('machine', 'images', 'size', 'identity', 'visible', 'clean'):
            if key in run:
                merged[key] = run[key]
    merged['ladders'] = {name: merged['ladders'][name] for name in LADDERS if name in merged['ladders']}
    return summarise(merged)


def summarise(results: dict) -> dict:
    """Means, Spearman correlations, crossings and bands of the ladders; rates of the visible cases."""
    for data in results.get('ladders', {}).values():
        steps, per_image = data['steps'], data['images']
        data['spearman'] = {key: float(np.mean([order_correlation([s[key] for s in entry['steps']])
                                                for entry in per_image]))
                            for key in ('panda', 'ssim', 'ms_ssim', 'psnr')}
        means = {key: [float(np.mean([entry['steps'][i][key] for entry in per_image])) for i in range(len(steps))]
                 for key in ('panda', 'ssim', 'ms_ssim', 'psnr')}
        data['mean'] = means
        data['min_panda'] = [min(e['steps'][i]['panda'] for e in per_image) for i in range(len(steps))]
        data['max_panda'] = [max(e['steps'][i]['panda'] for e in per_image) for i in range(len(steps))]
        others = {k: means[k] for k in ('psnr', 'ssim', 'ms_ssim')}
        data['meaning'] = {str(level): crossing(steps, means['panda'], others, level) for level in LEVELS}
    if results.get('ladders'):
        results['bands'] = bands(results['ladders'])
    if 'visible' in results:
        cases = results['visible']['cases']
        results['visible'].update({
            'worse': float(np.mean([c['relation'].endswith('worse') for c in cases])),
            'reference_above': float(np.mean([c['reference_above'] for c in cases])),
            'max_metric_compare_difference': float(max(abs(c['anchor_score'] - c['metric_score']) for c in cases)),
            'per_ladder': {ladder: float(np.mean([c['relation'].endswith('worse') for c in cases
                                                  if c['ladder'] == ladder])) for ladder in VISIBLE}})
    return results


def report(results: dict) -> str:
    """The markdown tables of a run."""
    commands = '; '.join(f'`{command}`' for command in results['commands'])
    lines = [f'Commands: {commands} ({results["seconds"] / 60:.1f} min in all; {results["machine"]}).', '',
             f'Images ({results["size"]} px): {", ".join(results["images"])}.', '',
             '### Identity: the pyiqa metric `panda` on an image against itself', '',
             '| image | clean | JPEG q10 | blur sigma 3 | noise 0.1 |', '|---|---|---|---|---|']
    for row in results['identity']:
        lines.append(f'| {row["image"]} | {row["clean"]:.6f} | {row["jpeg_q10"]:.6f} | {row["blur_3"]:.6f} '
                     f'| {row["noise_0.1"]:.6f} |')
    lines += ['', '### Ladders: mean score per step (PANDA min-max over images)', '']
    for ladder, data in results['ladders'].items():
        lines += [f'**{ladder}** ({len(data["images"])} images)', '',
                  f'| {data["parameter"]} | PANDA | PANDA min-max | SSIM | MS-SSIM | PSNR (dB) |',
                  '|---|---|---|---|---|---|']
        for i, step in enumerate(data['steps']):
            mean = {k: v[i] for k, v in data['mean'].items()}
            lines.append(f'| {step} | {mean["panda"]:.3f} | {data["min_panda"][i]:.3f}-{data["max_panda"][i]:.3f} '
                         f'| {mean["ssim"]:.3f} | {mean["ms_ssim"]:.3f} | {mean["psnr"]:.1f} |')
        lines.append('')
    lines += ['### Mean Spearman correlation with the ladder order', '',
              '| ladder | PANDA | SSIM | MS-SSIM | PSNR |', '|---|---|---|---|---|']
    for ladder, data in results['ladders'].items():
        s = data['spearman']
        lines.append(f'| {ladder} | {s["panda"]:.3f} | {s["ssim"]:.3f} | {s["ms_ssim"]:.3f} | {s["psnr"]:.3f} |')
    mean = {k: np.mean([d['spearman'][k] for d in results['ladders'].values()])
            for k in ('panda', 'ssim', 'ms_ssim', 'psnr')}
    lines.append(f'| mean | {mean["panda"]:.3f} | {mean["ssim"]:.3f} | {mean["ms_ssim"]:.3f} | {mean["psnr"]:.3f} |')
    visible = results['visible']
    lines += ['', '### Visible degradations', '',
              f'- reference against itself scored above the degraded image: {visible["reference_above"]:.3f} '
              f'({len(visible["cases"])} cases)',
              f'- `compare(...)` calls the degraded image `worse` overall: {visible["worse"]:.3f} '
              f'(' + ', '.join(f'{k} {v:.2f}' for k, v in visible['per_ladder'].items()) + ')',
              f'- largest difference between compare\'s anchor score and the pyiqa score: '
              f'{visible["max_metric_compare_difference"]:.1e}']
    missed = [c for c in visible['cases'] if not c['relation'].endswith('worse')]
    if missed:
        lines.append('- not `worse`: ' + ', '.join(f'{c["image"]} {c["ladder"]} {c["value"]} ({c["anchor_score"]:.3f})'
                                                   for c in missed))
    lines += ['', '### What a score means: where the mean PANDA score crosses a level', '',
              '| ladder | 0.9 | 0.8 | 0.6 |', '|---|---|---|---|']
    for ladder, data in results['ladders'].items():
        cells = []
        for level in LEVELS:
            hit = data['meaning'][str(level)]
            if hit is None:
                cells.append('not reached')
            elif isinstance(hit['step'], str):
                cells.append(f'{data["parameter"]} {hit["step"]}')
            else:
                cells.append(f'{data["parameter"]} {hit["step"]:.2f} (PSNR {hit["psnr"]:.1f}, SSIM {hit["ssim"]:.3f}, '
                             f'MS-SSIM {hit["ms_ssim"]:.3f})')
        lines.append(f'| {ladder} | ' + ' | '.join(cells) + ' |')
    lines += ['', 'Pooled over all ladders: steps whose PANDA score is within 0.03 of the level (median values)', '',
              '| score | steps | PSNR (dB) | SSIM | MS-SSIM | median step per ladder |', '|---|---|---|---|---|---|']
    for level, band in results['bands'].items():
        if not band['count']:
            lines.append(f'| {level} | 0 | | | | |')
            continue
        typical = ', '.join(f'{ladder} {step:g}' for ladder, step in band['steps'].items())
        lines.append(f'| {level} | {band["count"]} | {band["psnr"]:.1f} | {band["ssim"]:.3f} | {band["ms_ssim"]:.3f} '
                     f'| {typical} |')
    lines += ['', '### Clean images against themselves (`compare(...)`)', '',
              '| size | images | regions | clean on both sides | same |', '|---|---|---|---|---|']
    for row in results['clean']:
        lines.append(f'| {row["size"]} | {row["images"]} | {row["regions"]} | {row["clean_both"]:.3f} '
                     f'| {row["same"]:.3f} |')
    return '\n'.join(lines) + '\n'


if __name__ == '__main__':
    main()
