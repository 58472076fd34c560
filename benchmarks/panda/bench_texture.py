"""The texture score (``engine.texture``) on the package's photographs, beside fidelity and MS-SSIM.

Sections (``--sections``, default all); results are merged into ``--out``:

- ``resample``: superpixel regions (the default segmenter, on the reference) of the
  photographs shipped in skimage and matplotlib (and of ``make photos``' photographs when
  present); the *textured* ones (mean luma gradient magnitude of the reference at least
  ``TEXTURED`` grey levels per pixel) get, one condition at a time:
  the region's content replaced by the same photograph shifted 8 to 32 px (random direction,
  seeded; ``resampled`` keeps the source inside the region where it can), Gaussian blur
  sigma 2, Gaussian noise of standard deviation 0.1 (independent per channel), JPEG quality
  10, and, beyond the issue's list, the same noise on all three channels (``grey_noise0.1``);
  the degradations are applied to the whole image and pasted into the regions. Per
  condition, the share of regions with texture >= 0.9 (resampling) or < 0.8 (the others),
  and the same shares for the fidelity score and MS-SSIM (pyiqa ``ms_ssim`` on region crops
  with the reference outside the region, at least 176 px, the label oracle's ``pyiqa:`` scheme).
  The *flat* regions (mean gradient below ``FLAT`` grey levels: sky, walls) get grain of
  standard deviation 0.03 (per pixel, the same on the three channels): share with
  texture < 0.9.
- ``live``: LIVE's development split (``../shared/human/live-dev``, in-sample): SRCC of
  texture, fidelity and their combinations with the negated DMOS.
- ``time``: seconds per 512x512 pair of the texture score beside ``compare`` in reference
  mode (superpixels and network included), in the same run.

``--part K/N`` resamples every N-th photograph from the K-th (the conditions' seeds stay those
of the whole run) and keeps every region's values; ``--merge A.json B.json ...`` joins such
parts into one ``resample`` section.

Usage: python -m benchmarks.panda.bench_texture [--sections resample live time] [--photos DIR]
    [--live PATH/TO/live-dev] [--out docs/results/panda/texture.json] [--part K/N]
       python -m benchmarks.panda.bench_texture --merge PART.json ... --out OUT.json
"""
from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from benchmarks.bench_human import parse_part
from panda_plugin.engine.data.bundled import packaged_image
from panda_plugin.engine.image_io import list_images, load_image
from panda_plugin.engine.panda.human_fidelity import reference_fidelity
from panda_plugin.engine.panda.texture import batch_texture
from panda_plugin.engine.regions import build_segmenter

#: Photographs shipped in packages (skimage, matplotlib): scenes and texture close-ups.
PHOTOGRAPHS = (('skimage', 'astronaut'), ('skimage', 'camera'), ('skimage', 'chelsea'), ('skimage', 'coffee'),
               ('skimage', 'rocket'), ('skimage', 'stereo_motorcycle'), ('skimage', 'coins'),
               ('matplotlib', 'grace_hopper.jpg'), ('skimage', 'grass'), ('skimage', 'gravel'),
               ('skimage', 'brick'))
#: Mean luma gradient magnitude (grey levels per pixel) from which a region is textured.
TEXTURED = 8.0
#: ... and below which it is flat.
FLAT = 2.0
#: Shifts of the resampling condition, in pixels.
SHIFTS = (8, 32)
#: Smallest side of the MS-SSIM crops.
MS_SSIM_CROP = 176
CONDITIONS = ('resample', 'blur2', 'noise0.1', 'jpeg10', 'grey_noise0.1')


def photographs(folder: Path | None) -> list:
    """(name, HxWx3 uint8) of the packaged photographs and of ``folder``'s images, long side 512 at most."""
    images = [(name.split('.')[0], packaged_image(source, name)) for source, name in PHOTOGRAPHS]
    if folder is not None and folder.is_dir():
        images += [(Path(p).stem, load_image(p, convert=True)) for p in list_images(folder)]
    result = []
    for name, image in images:
        scale = 512 / max(image.shape[:2])
        if scale < 1:
            image = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                               interpolation=cv2.INTER_AREA)
        result.append((name, np.ascontiguousarray(image)))
    return result


def gradient(image: np.ndarray, label_map: np.ndarray) -> np.ndarray:
    """Mean luma gradient magnitude of each region (grey levels per pixel)."""
    grey = image.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    gy, gx = np.gradient(grey)
    magnitude = np.hypot(gx, gy)
    count = label_map.max() + 1
    return np.bincount(label_map.ravel(), magnitude.ravel(), count) / np.bincount(label_map.ravel(), minlength=count)


def resampled(image: np.ndarray, label_map: np.ndarray, regions, rng) -> np.ndarray:
    """Each region's content replaced by the same region shifted 8 to 32 px (random direction).

    A pixel takes the pixel ``d`` away when that one is in the same region, else the one
    ``-d`` away when that one is, else the one ``d`` away (the shift ``d`` is the draw, among
    16, that keeps the most sources inside the region), so the new content is another sample
    of the region's own texture wherever the region is wide enough.
    """
    out = image.copy()
    height, width = label_map.shape
    for region in regions:
        ys, xs = np.nonzero(label_map == region)
        best = None
        for _ in range(16):
            distance, angle = rng.uniform(*SHIFTS), rng.uniform(0, 2 * np.pi)
            dy, dx = round(distance * np.sin(angle)), round(distance * np.cos(angle))
            sources = []
            for sign in (1, -1):
                sy, sx = np.clip(ys + sign * dy, 0, height - 1), np.clip(xs + sign * dx, 0, width - 1)
                sources.append((sy, sx, label_map[sy, sx] == region))
            forward, backward = sources
            use_back = ~forward[2] & backward[2]
            inside = (forward[2] | backward[2]).mean()
            if best is None or inside > best[0]:
                best = (inside, np.where(use_back, backward[0], forward[0]), np.where(use_back, backward[1], forward[1]))
        out[ys, xs] = image[best[1], best[2]]
    return out


def degraded(image: np.ndarray, condition: str, rng) -> np.ndarray:
    """The whole image under one condition."""
    if condition == 'blur2':
        return cv2.GaussianBlur(image, (0, 0), 2.0)
    if condition == 'noise0.1':
        return (np.clip(image / 255.0 + rng.normal(0, 0.1, image.shape), 0, 1) * 255).round().astype(np.uint8)
    if condition == 'jpeg10':
        _, data = cv2.imencode('.jpg', image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 10])
        return cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1]
    if condition in ('grain0.03', 'grey_noise0.1'):
        grain = rng.normal(0, 0.03 if condition == 'grain0.03' else 0.1, image.shape[:2])[..., None]
        return (np.clip(image / 255.0 + grain, 0, 1) * 255).round().astype(np.uint8)
    raise ValueError(condition)


def tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float()[None] / 255


def region_scores(restored: np.ndarray, reference: np.ndarray, label_map: np.ndarray, ms_ssim=None,
                  regions=None) -> dict:
    """Texture, fidelity (and MS-SSIM of ``regions``, default all) of every region."""
    pair = tensor(restored), tensor(reference)
    with torch.no_grad():
        scores = {'texture': batch_texture(*pair, [label_map])[0].numpy(),
                  'fidelity': reference_fidelity(*pair, [label_map])[0].numpy()}
    if ms_ssim is not None:
        scores['ms_ssim'] = ms_ssim(restored, reference, label_map, regions)
    return scores


def resample_section(images: list, ms_ssim, seed: int = 0, part: tuple[int, int] = (1, 1)) -> dict:
    """Shares of textured regions passing each condition's limit, per measure, and every
    region's values (``values``, ``flat_values``; ``merge_resample`` joins parts).

    Args:
        images: ``photographs`` list.
        ms_ssim: ``ms_ssim_scorer()`` or None.
        seed: Seed of the conditions (per photograph: ``[seed, its number]``).
        part: (K, N): only every N-th photograph from the K-th.

    Returns:
        JSON-ready dict.
    """
    segmenter = build_segmenter('superpixel')
    rows = {condition: {m: [] for m in ('texture', 'fidelity', 'ms_ssim')} for condition in CONDITIONS}
    flat_rows = {'texture': [], 'fidelity': [], 'ms_ssim': []}
    counts = {}
    for number, (name, image) in enumerate(images):
        if number % part[1] != part[0] - 1:
            continue
        rng = np.random.default_rng([seed, number])
        label_map = np.asarray(segmenter(image), np.int64)
        grads = gradient(image, label_map)
        textured, flat = np.flatnonzero(grads >= TEXTURED), np.flatnonzero(grads < FLAT)
        counts[name] = {'regions': int(label_map.max() + 1), 'textured': len(textured), 'flat': len(flat)}
        if len(textured):
            inside = np.isin(label_map, textured)[..., None]
            for condition in CONDITIONS:
                if condition == 'resample':
                    restored = resampled(image, label_map, textured, rng)
                else:
                    restored = np.where(inside, degraded(image, condition, rng), image)
                scores = region_scores(restored, image, label_map, ms_ssim, textured)
                for measure, values in scores.items():
                    rows[condition][measure] += values[textured].tolist()
        if len(flat):
            inside = np.isin(label_map, flat)[..., None]
            restored = np.where(inside, degraded(image, 'grain0.03', rng), image)
            scores = region_scores(restored, image, label_map, ms_ssim, flat)
            for measure, values in scores.items():
                flat_rows[measure] += values[flat].tolist()
        print(name, counts[name], flush=True)
    return {**resample_table(rows, flat_rows), 'counts': counts, 'values': rows, 'flat_values': flat_rows}


def merge_resample(parts: list[dict]) -> dict:
    """One ``resample`` result from the results of ``resample_section`` parts."""
    rows = {condition: {m: [] for m in ('texture', 'fidelity', 'ms_ssim')} for condition in CONDITIONS}
    flat_rows = {'texture': [], 'fidelity': [], 'ms_ssim': []}
    counts = {}
    for part in parts:
        counts.update(part['counts'])
        for condition, measures in part['values'].items():
            for measure, values in measures.items():
                rows[condition][measure] += values
        for measure, values in part['flat_values'].items():
            flat_rows[measure] += values
    return {**resample_table(rows, flat_rows), 'counts': counts, 'values': rows, 'flat_values': flat_rows}


def resample_table(rows: dict, flat_rows: dict) -> dict:
    """Shares passing each condition's limit and medians, from every region's values."""
    table = {}
    for condition, measures in rows.items():
        table[condition] = {}
        for measure, values in measures.items():
            values = np.asarray(values)
            if not len(values):
                continue
            passing = values >= 0.9 if condition == 'resample' else values < 0.8
            table[condition][measure] = {'share': float(passing.mean()), 'median': float(np.median(values)),
                                         'regions': len(values)}
    flat = {measure: {'share_below_0.9': float((np.asarray(v) < 0.9).mean()), 'median': float(np.median(v)),
                      'regions': len(v)} for measure, v in flat_rows.items() if v}
    return {'textured': table, 'flat_grain0.03': flat}


def ms_ssim_scorer():
    """MS-SSIM of region crops (pyiqa ``ms_ssim``, the label oracle's ``pyiqa:`` scheme), the
    crops at least ``MS_SSIM_CROP`` px (five scales of an 11-tap window need 161)."""
    from panda_plugin.adapters.pyiqa import PyiqaRegionScorer

    return PyiqaRegionScorer('ms_ssim', min_crop=MS_SSIM_CROP)


def live_section(folder: Path) -> dict:
    """SRCC with LIVE's development split (in-sample): fidelity, texture and their product."""
    import pyiqa
    from scipy.stats import spearmanr

    import panda_plugin  # noqa: F401 (registers the metric)

    rows = list(csv.DictReader((folder / 'scores.csv').open(encoding='utf-8')))
    metrics = {'fidelity': pyiqa.create_metric('panda', device='cpu'),
               'texture': pyiqa.create_metric('panda', score='texture', device='cpu')}
    values = {name: [] for name in metrics}
    for row in rows:
        restored, reference = (tensor(load_image(folder / row[key], convert=True)) for key in ('dist_image', 'ref_image'))
        with torch.no_grad():
            for name, metric in metrics.items():
                values[name].append(float(metric(restored, reference)))
    values = {name: np.asarray(v) for name, v in values.items()}
    values['fidelity x texture'] = values['fidelity'] * values['texture']
    values['sqrt(fidelity x texture)'] = np.sqrt(values['fidelity x texture'])
    quality = -np.array([float(row['dmos_realigned']) for row in rows])
    kinds = np.array([row['distortion'] for row in rows])
    report = {}
    for name, v in values.items():
        report[name] = {'all': float(spearmanr(v, quality)[0])}
        for kind in sorted(set(kinds)):
            report[name][kind] = float(spearmanr(v[kinds == kind], quality[kinds == kind])[0])
    report['images'] = {kind: int((kinds == kind).sum()) for kind in sorted(set(kinds))}
    return report


def time_section(repeats: int = 15) -> dict:
    """Median seconds per 512x512 pair: the texture score and ``compare`` in reference mode, one run."""
    import panda_plugin
    from panda_plugin.engine.data.bundled import packaged_image

    reference = packaged_image('matplotlib', 'grace_hopper.jpg')
    reference = np.ascontiguousarray(reference[:512, :512]) if min(reference.shape[:2]) >= 512 else cv2.resize(
        reference, (512, 512), interpolation=cv2.INTER_AREA)
    restored = degraded(reference, 'noise0.1', np.random.default_rng(0))
    label_map = np.asarray(build_segmenter('superpixel')(reference), np.int64)
    pair = tensor(restored), tensor(reference)

    def texture():
        with torch.no_grad():
            batch_texture(*pair, [label_map])

    def whole():
        panda_plugin.compare(restored, reference)

    def fidelity():
        with torch.no_grad():
            reference_fidelity(*pair, [label_map])

    runs = {'texture': texture, 'fidelity': fidelity, 'compare': whole}
    for run in runs.values():
        run()
    seconds = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
    medians = {name: float(np.median(v)) for name, v in seconds.items()}
    return {'median_seconds': medians, 'texture_over_compare': medians['texture'] / medians['compare'],
            'regions': int(label_map.max() + 1), 'threads': torch.get_num_threads(), 'repeats': repeats}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--sections', nargs='+', default=['resample', 'live', 'time'],
                        choices=['resample', 'live', 'time'])
    parser.add_argument('--photos', type=Path, default=None, help='folder of photographs (e.g. datasets/photos/bench)')
    parser.add_argument('--live', type=Path, help='LIVE development folder (scores.csv), for the live section')
    parser.add_argument('--no-ms-ssim', action='store_true')
    parser.add_argument('--out', type=Path, default=None, help='JSON file for the results')
    parser.add_argument('--part', type=parse_part, default=(1, 1),
                        help='K/N: resample only every N-th photograph from the K-th (to spread a run over processes)')
    parser.add_argument('--merge', type=Path, nargs='+', help='JSON files of --part runs: join their resample sections')
    args = parser.parse_args()
    torch.set_num_threads(2)
    report = json.loads(args.out.read_text(encoding='utf-8')) if args.out and args.out.is_file() else {}
    if args.merge:
        report['resample'] = merge_resample([json.loads(p.read_text(encoding='utf-8'))['resample'] for p in args.merge])
    elif 'resample' in args.sections:
        images = photographs(args.photos)
        report['resample'] = resample_section(images, None if args.no_ms_ssim else ms_ssim_scorer(), part=args.part)
    if args.merge or 'resample' in args.sections:
        print(json.dumps({k: report['resample'][k] for k in ('textured', 'flat_grain0.03')}, indent=1))
    if 'live' in args.sections and not args.merge:
        if args.live is None or not (args.live / 'scores.csv').is_file():
            parser.error(f'--live {args.live}: the live section needs the folder of scores.csv')
        report['live'] = live_section(args.live)
        print(json.dumps(report['live'], indent=1))
    if 'time' in args.sections and not args.merge:
        report['time'] = time_section()
        print(json.dumps(report['time'], indent=1))
    if args.out:
        args.out.write_text(json.dumps(report, indent=1), encoding='utf-8')


if __name__ == '__main__':
    main()
