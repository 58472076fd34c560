"""Relation class histogram of PANDABENCH splits built from the bundled bench images.

Usage: python -m benchmarks.panda.relation_histogram [--pairs 24] [--scorer ssim_color]
"""
from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from pathlib import Path

from panda_plugin.core.taxonomy import RELATIONS
from panda_plugin.engine.data.bundled import export_bundled_images
from panda_plugin.engine.data.lmdb_store import RecordReader
from panda_plugin.engine.panda.data.builder import BuildSettings, make_dataset


def histogram(folder: Path, out: Path, split: str, pairs: int, scorer: str, workers: int) -> Counter:
    """Relation counts over all regions of one split."""
    settings = BuildSettings(split=split, pairs_per_image=pairs, size=256, seed=0, scorer=scorer)
    make_dataset(folder, out, settings, workers=workers, progress=False)
    reader = RecordReader(out)
    counts = Counter()
    for position in range(len(reader)):
        counts.update(RELATIONS[r] for r in reader.read(position)['labels']['relation'])
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--pairs', type=int, default=24)
    parser.add_argument('--scorer', default='ssim_psnr')
    parser.add_argument('--workers', type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        folder = scratch / 'images'
        export_bundled_images(folder, 'bench')
        rows = {split: histogram(folder, scratch / f'{split}.lmdb', split, args.pairs, args.scorer,
                                 args.workers) for split in ('easy', 'medium', 'hard')}
    print(f'scorer {args.scorer}, {args.pairs} pairs per bench image, 256x256')
    print('| split | regions | ' + ' | '.join(RELATIONS) + ' |')
    print('|---|---|' + '---|' * len(RELATIONS))
    for split, counts in rows.items():
        total = sum(counts.values())
        cells = ' | '.join(f'{100 * counts[r] / total:.1f}%' for r in RELATIONS)
        print(f'| {split} | {total} | {cells} |')


if __name__ == '__main__':
    main()
