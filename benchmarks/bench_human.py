"""Agreement with people: PANDA's reference-mode score beside pyiqa's classic full-reference
measures on a folder of human-judged images, all computed in one run.

The folder holds ``scores.csv`` with the columns ``dist_image``, ``ref_image``,
``distortion`` and ``dmos_realigned`` (image paths relative to the folder; DMOS: lower is
better), like ``live-dev`` (LIVE Release 2, development split). For every measure, the
Spearman correlation (SRCC) and the Pearson correlation after the usual 5-parameter logistic
mapping (PLCC) with ``-DMOS``, over all images and within each distortion (the logistic is
fit separately on each set), and the SRCC when one reference at a time is left out (its
images removed; minimum and mean over references).

Measures: pyiqa's ``panda`` (this package, reference mode, default weights and regions) and
pyiqa's ``psnr``, ``ssim``, ``ms_ssim``, ``fsim``, ``vif``, ``gmsd``, ``nlpd`` and ``vsi`` with
their defaults (none needs a weights file). For ``gmsd`` and ``nlpd`` lower is better; their
sign is flipped so that every correlation is positive when a measure agrees with people.

To spread one run over processes, ``--part K/N`` scores every N-th image from the K-th (every
measure on each of them) and ``--merge A.json B.json ...`` reports the parts together (each
image exactly once).

Usage: python benchmarks/bench_human.py DATA_DIR [--json OUT] [--measures panda ssim ...] [--part K/N]
       python benchmarks/bench_human.py DATA_DIR --merge PART.json ... [--json OUT]
"""
from __future__ import annotations

import argparse
import csv
import json
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from scipy.optimize import OptimizeWarning, curve_fit
from scipy.stats import pearsonr, spearmanr

#: Measures compared, in the order of the tables.
MEASURES = ('panda', 'psnr', 'ssim', 'ms_ssim', 'fsim', 'vif', 'gmsd', 'nlpd', 'vsi')
#: Columns ``scores.csv`` must have.
COLUMNS = ('dist_image', 'ref_image', 'distortion', 'dmos_realigned')


def read_scores(folder: Path) -> list[dict]:
    """The rows of ``folder/scores.csv``.

    Args:
        folder: A folder laid out like ``live-dev``.

    Returns:
        One dict per image: ``dist_image`` and ``ref_image`` (paths), ``distortion`` and
        ``dmos`` (float).
    """
    table = folder / 'scores.csv'
    if not table.is_file():
        raise SystemExit(f'{table}: no such file; accepted: a folder with scores.csv ({", ".join(COLUMNS)})')
    with open(table, newline='') as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise SystemExit(f'{table}: columns {reader.fieldnames} lack {missing}; accepted: {", ".join(COLUMNS)}')
        rows = [{'dist_image': folder / row['dist_image'], 'ref_image': folder / row['ref_image'],
                 'distortion': row['distortion'], 'dmos': float(row['dmos_realigned'])} for row in reader]
    if len(rows) < 4:
        raise SystemExit(f'{table}: {len(rows)} rows; accepted: at least 4')
    return rows


def logistic5(x, b1, b2, b3, b4, b5):
    """The 5-parameter logistic of VQEG: ``b1 (1/2 - 1/(1 + exp(b2 (x - b3)))) + b4 x + b5``."""
    return b1 * (0.5 - 1.0 / (1.0 + np.exp(np.clip(b2 * (x - b3), -60, 60)))) + b4 * x + b5


def plcc_logistic(predicted: np.ndarray, human: np.ndarray) -> float:
    """Pearson correlation of ``human`` with the 5-parameter logistic of ``predicted`` fit to it
    (least squares; the best of a few starting slopes, the linear fit if none converges or
    there are no more points than the logistic's five parameters).

    Args:
        predicted: Scores of a measure (higher = better).
        human: Human scores (higher = better).

    Returns:
        The PLCC.
    """
    x, y = np.asarray(predicted, np.float64), np.asarray(human, np.float64)
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0
    if len(x) <= 5:
        return float(pearsonr(x, y)[0])
    scale = np.std(x)
    best, best_error = x, np.inf
    for slope in (0.3, 1.0, 3.0, 10.0):
        start = [np.ptp(y), slope / scale, np.median(x), 0.0, np.mean(y)]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore', OptimizeWarning)
                warnings.simplefilter('ignore', RuntimeWarning)
                params, _ = curve_fit(logistic5, x, y, p0=start, maxfev=20000)
        except RuntimeError:
            continue
        fitted = logistic5(x, *params)
        error = float(np.sum((fitted - y) ** 2))
        if np.all(np.isfinite(fitted)) and error < best_error and np.ptp(fitted) > 0:
            best, best_error = fitted, error
    return float(pearsonr(best, y)[0])


def agreement(values: np.ndarray, dmos: np.ndarray, groups: np.ndarray, references: np.ndarray) -> dict:
    """SRCC and PLCC of one measure with ``-dmos``, overall and per group, and the
    leave-one-reference-out SRCC.

    Args:
        values: Scores (higher = better), one per image.
        dmos: DMOS (lower = better).
        groups: Distortion name of each image.
        references: Reference name of each image.

    Returns:
        ``{'all': {'n', 'srcc', 'plcc'}, <group>: {...}, 'leave_one_reference_out':
        {'min', 'mean'}}``.
    """
    human = -np.asarray(dmos, np.float64)
    values = np.asarray(values, np.float64)

    def pair(mask):
        srcc = float(spearmanr(values[mask], human[mask])[0]) if np.ptp(values[mask]) > 0 else 0.0
        return {'n': int(mask.sum()), 'srcc': srcc, 'plcc': plcc_logistic(values[mask], human[mask])}

    out = {'all': pair(np.ones(len(values), bool))}
    for group in sorted(set(groups)):
        out[group] = pair(groups == group)
    left_out = [float(spearmanr(values[references != r], human[references != r])[0]) for r in sorted(set(references))]
    if len(left_out) > 1:
        out['leave_one_reference_out'] = {'min': min(left_out), 'mean': float(np.mean(left_out))}
    return out


def load_tensor(path: Path) -> torch.Tensor:
    """A 1x3xHxW float tensor in [0, 1] of an image file."""
    from panda_plugin.engine.image_io import load_image

    image = load_image(path, convert=True, name=str(path))
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float() / 255


def score_all(rows: list[dict], measures) -> dict:
    """Every measure on every image, and the seconds each measure took in all.

    Args:
        rows: ``read_scores`` rows.
        measures: Names among ``MEASURES``.

    Returns:
        ``{'values': {measure: [score per row]}, 'seconds': {measure: float}}`` with scores
        oriented so that higher is better.
    """
    import pyiqa
    from tqdm import tqdm

    import panda_plugin  # noqa: F401  (registers the metric panda with pyiqa)

    metrics = {name: pyiqa.create_metric(name, device='cpu') for name in measures}
    values = {name: [] for name in measures}
    seconds = {name: 0.0 for name in measures}
    references = {}
    for row in tqdm(rows, desc='images', unit='image'):
        restored = load_tensor(row['dist_image'])
        if row['ref_image'] not in references:
            references[row['ref_image']] = load_tensor(row['ref_image'])
        reference = references[row['ref_image']]
        if restored.shape != reference.shape:
            raise SystemExit(f'{row["dist_image"]}: size {tuple(restored.shape[-2:])} differs from its reference '
                             f'{tuple(reference.shape[-2:])}; accepted: images of the same size')
        for name, metric in metrics.items():
            start = time.perf_counter()
            with torch.no_grad():
                value = float(metric(restored, reference))
            seconds[name] += time.perf_counter() - start
            values[name].append(-value if metric.lower_better else value)
    return {'values': values, 'seconds': seconds}


def table(results: dict, key: str, groups: list[str]) -> str:
    """A markdown table of one statistic (``srcc`` or ``plcc``) per measure and group."""
    first = next(iter(results.values()))
    header = '| measure | ' + ' | '.join(f'{g} ({first[g]["n"]})' for g in ['all'] + groups) + ' |'
    lines = [header, '|' + '---|' * (len(groups) + 2)]
    for name, result in results.items():
        lines.append(f'| {name} | ' + ' | '.join(f'{result[g][key]:.3f}' for g in ['all'] + groups) + ' |')
    return '\n'.join(lines)


def parse_part(text: str) -> tuple[int, int]:
    """``K/N`` -> (K, N) with 1 <= K <= N."""
    try:
        k, n = (int(v) for v in text.split('/'))
    except ValueError:
        k = n = 0
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f'--part {text!r}; accepted: K/N with 1 <= K <= N, e.g. 1/3')
    return k, n


def merged_scores(rows: list[dict], data_dir: Path, paths: list[Path]) -> tuple[dict, dict, list[str]]:
    """The per-image scores of partial runs, in the order of ``rows``.

    Args:
        rows: ``read_scores`` rows of ``data_dir``.
        data_dir: The folder the parts were run on.
        paths: JSON files written with ``--part``.

    Returns:
        ``({measure: [score per row]}, {measure: seconds summed}, [command of each part],
        [machine of each part])``.
    """
    by_image, seconds, commands, machines = {}, {}, [], []
    for path in paths:
        part = json.loads(Path(path).read_text())
        if Path(part['data_dir']).resolve() != data_dir.resolve():
            raise SystemExit(f'{path}: a part of {part["data_dir"]}; accepted: parts of {data_dir}')
        commands.append(part['command'])
        machines.append(part['machine'])
        for name, value in part['seconds_per_measure'].items():
            seconds[name] = seconds.get(name, 0.0) + value
        for score in part['scores']:
            if score['dist_image'] in by_image:
                raise SystemExit(f'{path}: {score["dist_image"]} is in two parts; accepted: each image once')
            by_image[score['dist_image']] = score
    names = [str(row['dist_image'].relative_to(data_dir)) for row in rows]
    missing = [name for name in names if name not in by_image]
    if missing:
        raise SystemExit(f'the parts lack {len(missing)} images of {data_dir} (first: {missing[0]}); '
                         'accepted: parts that together hold every image')
    measures = [m for m in MEASURES if all(m in by_image[name] for name in names)]
    return {m: [by_image[name][m] for name in names] for m in measures}, seconds, commands, machines


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('data_dir', type=Path, help='folder with scores.csv and the images')
    parser.add_argument('--json', type=Path, help='write the results here')
    parser.add_argument('--measures', nargs='+', default=list(MEASURES), choices=MEASURES,
                        help='measures to compute (default: all)')
    parser.add_argument('--part', type=parse_part, help='K/N: score only every N-th image from the K-th')
    parser.add_argument('--merge', type=Path, nargs='+', help='report the JSON files of --part runs together')
    args = parser.parse_args(argv)
    rows = read_scores(args.data_dir)
    start = time.time()
    command = 'python benchmarks/bench_human.py ' + ' '.join(map(str, sys.argv[1:] if argv is None else argv))
    machine = f'{platform.machine()}, {torch.get_num_threads()} torch threads, {platform.python_version()}'
    if args.merge:
        values, seconds, commands, machines = merged_scores(rows, args.data_dir, args.merge)
        command, machine = [*commands, command], sorted(set(machines))
    else:
        if args.part:
            rows = rows[args.part[0] - 1::args.part[1]]
        scored = score_all(rows, args.measures)
        values, seconds = scored['values'], scored['seconds']
    dmos = np.array([row['dmos'] for row in rows])
    groups = np.array([row['distortion'] for row in rows])
    references = np.array([row['ref_image'].stem for row in rows])
    results = {name: agreement(np.array(v), dmos, groups, references) for name, v in values.items()}
    group_names = sorted(set(groups))
    print(f'\n{args.data_dir}: {len(rows)} images of {len(set(references))} references')
    print('\nSRCC with -DMOS\n' + table(results, 'srcc', group_names))
    print('\nPLCC with -DMOS after the 5-parameter logistic\n' + table(results, 'plcc', group_names))
    if len(set(references)) > 1:
        print('\nSRCC over all images, one reference left out at a time (min / mean)')
        for name, result in results.items():
            loro = result['leave_one_reference_out']
            print(f'  {name:8s} {loro["min"]:.3f} / {loro["mean"]:.3f}')
    record = {
        'command': command,
        'data_dir': str(args.data_dir), 'images': len(rows), 'references': len(set(references)),
        'machine': machine, 'wall_seconds': time.time() - start, 'seconds_per_measure': seconds,
        'results': results,
        'scores': [{'dist_image': str(row['dist_image'].relative_to(args.data_dir)), 'distortion': row['distortion'],
                    'dmos': row['dmos'], **{name: values[name][i] for name in values}}
                   for i, row in enumerate(rows)],
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(record, indent=1) + '\n')
        print(f'\nwrote {args.json}')
    return record


if __name__ == '__main__':
    main()
