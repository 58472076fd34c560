"""Merge `panda dp-sweep` runs of the same images and settings into one report and curve.

Runs may differ in their lambdas and baselines (one report then holds them all) and in
``--seed`` (each run name then has several seeds: the measures are averaged over images and
seeds, and ``panda_fd`` is recomputed from the saved images, pooled over all seeds' outputs).
A run name met again with a seed it already has is taken from the first folder listed (the
others are named in ``skipped``), so every run keeps one output per image and seed.

    python -m benchmarks.dp.dp_merge_sweeps RUN_DIR... --out DIR

Writes DIR/sweep.json (per run: ``mean``, ``per_image`` averaged over seeds, ``per_seed``
means; ``panda_fd`` of ``mean`` and ``per_image`` pooled over the seeds, ``panda_fd_seed_sd``
the spread of the seeds' own values) and DIR/dp_curve.png.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from panda_plugin.adapters.cli.dp import finite
from panda_plugin.adapters.pictures.dp import plot_curves
from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.dp.feature_fd import frechet_distance, panda_tokens
from panda_plugin.engine.image_io import load_image

#: Settings that must agree between merged runs.
SAME = ('degradation', 'steps', 'scale', 'conditioning')


def load_runs(folders) -> list:
    """The ``sweep.json`` of each folder, checked to describe the same experiment."""
    reports = [json.loads((Path(f) / 'sweep.json').read_text(encoding='utf-8')) for f in folders]
    first = reports[0]
    for folder, report in zip(folders, reports):
        for key in SAME:
            if report['settings'][key] != first['settings'][key]:
                raise PandaInputError(f'{folder}: {key} {report["settings"][key]!r}, '
                                      f'not {first["settings"][key]!r} as in {folders[0]}')
        if report['prior'] != first['prior'] or set(report['measurement_psnr']) != set(first['measurement_psnr']):
            raise PandaInputError(f'{folder}: another prior or other images than {folders[0]}')
    return reports


def merge(folders) -> dict:
    """One report over all runs and seeds of ``folders`` (see the module docstring)."""
    reports = load_runs(folders)
    names = sorted(reports[0]['measurement_psnr'])
    first_folder = Path(folders[0]) / 'images'
    references = {n: panda_tokens([load_image(first_folder / f'{n}_reference.png')]) for n in names}
    pooled_reference = np.concatenate([references[n] for n in names])
    rows, skipped = {}, []  # run name -> seed -> (report run, images folder)
    for folder, report in zip(folders, reports):
        for method, run in report['runs'].items():
            seeds = rows.setdefault(method, {})
            if report['settings']['seed'] in seeds:
                skipped.append(f'{method} of {folder} (seed {report["settings"]["seed"]} taken from an earlier folder)')
                continue
            seeds[report['settings']['seed']] = (run, Path(folder) / 'images')
    merged = {}
    for method, seeds in sorted(rows.items(), key=lambda item: _order(item[0])):
        tokens, per_seed = {n: [] for n in names}, {}
        for seed, (run, images) in sorted(seeds.items()):
            for name in names:
                tokens[name].append(panda_tokens([load_image(images / f'{name}_{method}.png')]))
            per_seed[seed] = run['mean']  # its panda_fd is already pooled over that seed's images
        measures = [k for k in next(iter(seeds.values()))[0]['mean'] if k != 'panda_fd']
        per_image = {n: {k: float(np.mean([run['per_image'][n][k] for run, _ in seeds.values()])) for k in measures}
                     for n in names}
        for name in names:
            per_image[name]['panda_fd'] = frechet_distance(np.concatenate(tokens[name]), references[name])
        mean = {k: float(np.mean([s[k] for s in per_seed.values()])) for k in measures}
        mean['panda_fd'] = frechet_distance(np.concatenate([t for n in names for t in tokens[n]]), pooled_reference)
        mean['panda_fd_seed_sd'] = float(np.std([s['panda_fd'] for s in per_seed.values()]))
        merged[method] = {'mean': mean, 'per_image': per_image, 'per_seed': per_seed}
    return {'settings': {**reports[0]['settings'], 'seed': sorted({r['settings']['seed'] for r in reports}),
                         'lambdas': sorted({v for r in reports for v in r['settings']['lambdas']})},
            'runs': merged, 'measures': reports[0]['measures'], 'conditioning': reports[0]['conditioning'],
            'prior': reports[0]['prior'], 'measurement_psnr': reports[0]['measurement_psnr'],
            'merged_from': [str(f) for f in folders], 'skipped': skipped}


def _order(method: str) -> tuple:
    kind, _, value = method.partition('=')
    return ({'lambda': 0, 'average': 1}.get(kind, 2), float(value) if value else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('folders', nargs='+', help='output folders of panda dp-sweep')
    parser.add_argument('--out', required=True, help='folder of the merged sweep.json and dp_curve.png')
    args = parser.parse_args()
    report = merge(args.folders)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / 'sweep.json').write_text(json.dumps(finite(report), indent=1), encoding='utf-8')
    plot_curves(report, out / 'dp_curve.png')
    for line in report['skipped']:
        print(f'skipped: {line}')
    for method, run in report['runs'].items():
        print(f'{method:>14} ({len(run["per_seed"])} seeds): '
              + ', '.join(f'{k} {v:.4g}' for k, v in run['mean'].items()))


if __name__ == '__main__':
    main()
