"""Per-region PANDA summary between two runs of a saved `panda dp-sweep` (e.g. lambda 0.75 -> 1).

`panda dp-sweep` summarises its lowest and highest lambda; this reads the images a sweep
saved and summarises any two of its runs the same way (fixed grid regions; PANDA score
against the reference and MSE, textured against flat regions).

    python -m benchmarks.dp.dp_region_summary SWEEP_DIR --runs lambda=0.75,lambda=1 [--regions grid:4x4] --out DIR

Writes DIR/regions.json, DIR/regions_*.png and the graphs under DIR/images/.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from panda_plugin.adapters.cli.dp import finite, region_report
from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.image_io import load_image


def saved_images(folder: Path, runs: list) -> dict:
    """``{image name: {'reference', 'measurement', run...: HxWx3 uint8}}`` of a sweep folder."""
    report = json.loads((folder / 'sweep.json').read_text(encoding='utf-8'))
    missing = [r for r in runs if r not in report['runs']]
    if missing:
        raise PandaInputError(f'{folder}: no run {missing[0]!r}; accepted: {", ".join(report["runs"])}')
    return {name: {kind: load_image(folder / 'images' / f'{name}_{kind}.png')
                   for kind in ('reference', 'measurement', *runs)}
            for name in report['measurement_psnr']}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('folder', type=Path, help='output folder of panda dp-sweep')
    parser.add_argument('--runs', required=True, help='two run names, from and to, e.g. lambda=0.75,lambda=1')
    parser.add_argument('--regions', default='grid:4x4', help='fixed regions (grid:RxC)')
    parser.add_argument('--out', type=Path, required=True)
    args = parser.parse_args()
    runs = args.runs.split(',')
    if len(runs) != 2:
        raise PandaInputError(f'--runs {args.runs!r}; accepted: two run names, e.g. lambda=0.75,lambda=1')
    (args.out / 'images').mkdir(parents=True, exist_ok=True)
    report = region_report(saved_images(args.folder, runs), runs, args.regions, args.out, print)
    (args.out / 'regions.json').write_text(json.dumps(finite(report), indent=1), encoding='utf-8')


if __name__ == '__main__':
    main()
