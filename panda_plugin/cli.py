"""The ``panda`` command line."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .errors import PandaInputError


def _shard(text: str) -> tuple[int, int]:
    try:
        index, count = (int(part) for part in text.split('/'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'shard {text!r} is not I/N (e.g. 0/4)') from None
    return index, count


def _add_make_dataset(commands) -> None:
    parser = commands.add_parser(
        'make-dataset', help='build PANDASET training pairs or a PANDABENCH split (LMDB)',
        description='Degrade the regions of every image in a folder and store labelled pairs in LMDB.')
    parser.add_argument('--images', required=True,
                        help='folder of jpg/png/webp/bmp/tiff images (searched recursively), '
                             'or "bundled:train" / "bundled:bench" for the bundled images')
    parser.add_argument('--out', required=True, help='output database folder, e.g. bench_easy.lmdb')
    parser.add_argument('--split', default='train', choices=('train', 'easy', 'medium', 'hard'))
    parser.add_argument('--pairs-per-image', type=int, default=16)
    parser.add_argument('--size', type=int, default=256, help='side of the square images (default 256)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--workers', type=int, default=1)
    parser.add_argument('--shard', type=_shard, default=(0, 1), help='I/N: build the I-th of N shards')
    parser.add_argument('--segmenter', default='superpixel',
                        help='superpixel (default), grid, grid:RxC or sam:CHECKPOINT')
    parser.add_argument('--scorer', default='ssim_psnr',
                        help='ssim_psnr (default), ssim_color, ssim, psnr, pyiqa:METRIC or topiq_fr:WEIGHTS')
    parser.set_defaults(handler=_make_dataset)


def _resolve_images(spec: str, scratch: Path) -> Path:
    if spec.startswith('bundled:'):
        from .data.bundled import export_bundled_images

        folder = scratch / f'bundled_{spec.split(":", 1)[1]}'
        export_bundled_images(folder, spec.split(':', 1)[1])
        return folder
    return Path(spec)


def _make_dataset(args) -> int:
    from .data.builder import BuildSettings, make_dataset

    settings = BuildSettings(split=args.split, pairs_per_image=args.pairs_per_image, size=args.size,
                             seed=args.seed, segmenter=args.segmenter, scorer=args.scorer,
                             shard=args.shard)
    out = Path(args.out)
    images = _resolve_images(args.images, out.parent)
    report = make_dataset(images, out, settings, workers=args.workers)
    if report.already_complete:
        print(f'{out} is already complete: {report.records} records')
        return 0
    resumed = f', {report.resumed} images resumed from an earlier run' if report.resumed else ''
    print(f'wrote {report.records} {args.split} pairs from {report.images} images to {out}{resumed}')
    for source, reason in report.skipped:
        print(f'skipped {source}: {reason}')
    return 0


def _add_demo(commands) -> None:
    parser = commands.add_parser('demo', help='build a small PANDABENCH split from the bundled '
                                              'images and render one labelled pair')
    parser.add_argument('--out', default='demo_output', help='output folder (default demo_output)')
    parser.set_defaults(handler=_demo)


def _demo(args) -> int:
    import shutil

    from .data.builder import BuildSettings, make_dataset
    from .data.bundled import export_bundled_images
    from .data.lmdb_store import RecordReader
    from .graph import DistortionGraph

    out = Path(args.out)
    images = out / 'images'
    if images.exists():
        shutil.rmtree(images)
    export_bundled_images(images, 'bench')
    database = out / 'bench_easy.lmdb'
    settings = BuildSettings(split='easy', pairs_per_image=2, size=256, seed=0)
    report = make_dataset(images, database, settings, workers=1)
    record = RecordReader(database).read(0)
    labels = record['labels']
    graph = DistortionGraph.from_labels(record['label_map'], labels['anchor'], labels['target'],
                                        labels['relation'], metadata={'source': labels['source']})
    picture = graph.render(out / 'pair.png', record['anchor'], record['target'])
    graph.to_json(out / 'pair.json', indent=2)
    print(graph.to_prompt())
    print(f'\n{report.records} easy pairs in {database}; graph of pair {record["key"]} '
          f'({labels["source"]}) drawn in {picture} and saved as {out / "pair.json"}')
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``panda`` argument parser with all sub-commands."""
    parser = argparse.ArgumentParser(prog='panda', description='Panoptic pairwise distortion graphs.')
    parser.add_argument('-v', '--verbose', action='store_true', help='log progress details')
    commands = parser.add_subparsers(dest='command', required=True)
    _add_make_dataset(commands)
    _add_demo(commands)
    return parser


def main(argv=None) -> int:
    """Run the ``panda`` command line.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        Exit status: 0 on success, 2 on bad input.
    """
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format='%(levelname)s %(name)s: %(message)s')
    try:
        return args.handler(args)
    except PandaInputError as error:
        print(f'panda {args.command}: error: {error}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f'panda {args.command}: interrupted', file=sys.stderr)
        return 130


if __name__ == '__main__':
    sys.exit(main())
