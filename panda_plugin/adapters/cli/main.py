"""The ``panda`` command line."""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
import warnings
from pathlib import Path

from panda_plugin.adapters.cli import folders as cli_folders
from panda_plugin.adapters.cli.graph_text import graph_table
from panda_plugin.adapters.cli.points import (
    METHOD_CHOICES,
    POINTS_HELP,
    add_click_page,
    add_export_point_weights,
    add_make_points_data,
    add_make_pseudo_labels,
    add_regions,
)
from panda_plugin.core.errors import PandaInputError, PandaWarning
from panda_plugin.engine.panda.data.pairs import SPLITS
from panda_plugin.engine.specs import spec_argument


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
                             'or "bundled:train" / "bundled:bench" for the bundled images, '
                             '"photos:train" / "photos:bench" for the photographs of `make photos`')
    parser.add_argument('--out', required=True, help='output database folder, e.g. bench_easy.lmdb')
    parser.add_argument('--split', default='train', choices=SPLITS)
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


def _resolve_images(spec: str, scratch: Path, size: int = 256) -> Path:
    photos, subset = spec_argument(spec, 'photos'), spec_argument(spec, 'bundled')
    if photos is not None:
        from panda_plugin.engine.data.photos import resolve_photos

        return resolve_photos(photos, scratch, size)
    if subset is not None:
        from panda_plugin.engine.data.bundled import export_bundled_images

        folder = scratch / f'bundled_{subset}'
        export_bundled_images(folder, subset)
        return folder
    return Path(spec)


def _make_dataset(args) -> int:
    from panda_plugin.engine.panda.data.builder import BuildSettings, make_dataset

    if args.scorer.startswith(('pyiqa:', 'topiq_fr:')):
        from panda_plugin.adapters import pyiqa  # noqa: F401 (registers the pyiqa scorers)

    settings = BuildSettings(split=args.split, pairs_per_image=args.pairs_per_image, size=args.size,
                             seed=args.seed, segmenter=args.segmenter, scorer=args.scorer,
                             shard=args.shard)
    out = Path(args.out)
    images = _resolve_images(args.images, out.parent, args.size)
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
    parser = commands.add_parser('demo', help='compare a purposely degraded bundled image with its '
                                              'clean version using the shipped weights')
    parser.add_argument('--out', default='demo_output', help='output folder (default demo_output)')
    parser.set_defaults(handler=_demo)


#: Distortions of the demo's four quadrants (top-left, top-right, bottom-left, bottom-right).
DEMO_QUADRANTS = [[('blur', 'severe')], [('noise', 'moderate')], [('compression', 'severe')], []]


def quadrant_label_map(side: int):
    """Label map of a square image's four quadrants, in the order of ``DEMO_QUADRANTS``.

    Args:
        side: Image side in pixels.

    Returns:
        int32 side x side array: 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right.
    """
    import numpy as np

    quadrants = np.zeros((side, side), np.int32)
    quadrants[:, side // 2:] += 1
    quadrants[side // 2:, :] += 2
    return quadrants


def _demo(args) -> int:
    import numpy as np

    from panda_plugin.core.atomic import prepare_folder, write_atomic
    from panda_plugin.engine.data.bundled import packaged_image
    from panda_plugin.engine.distortions import degrade_regions
    from panda_plugin.engine.image_io import encode_image, save_image, square_crop
    from panda_plugin.engine.panda.predictor import compare

    out = prepare_folder(args.out, '--out folder')
    clean = square_crop(packaged_image('skimage', 'coffee'), 384)
    quadrants = quadrant_label_map(clean.shape[0])
    degraded = degrade_regions(clean, quadrants, DEMO_QUADRANTS, seed=0)
    save_image(out / 'restored.png', degraded)
    save_image(out / 'reference.png', clean)
    write_atomic(out / 'quadrants.png', encode_image('.png', quadrants.astype(np.uint8)))  # a label-map PNG
    graph = compare(degraded, clean, masks=quadrants)
    print('restored: coffee degraded by quadrant (top-left blur/severe, top-right noise/moderate, '
          'bottom-left compression/severe, bottom-right clean); reference: the clean image; '
          'regions: the four quadrants\n')
    print(graph_table(graph))
    graph.to_json(out / 'pair.json', indent=2)
    picture = graph.render(out / 'pair.png', degraded, clean)
    print(f'\nwrote {picture} and {out / "pair.json"}; run it yourself with:\n'
          f'  panda compare {out / "restored.png"} {out / "reference.png"} --masks {out / "quadrants.png"} '
          '--viz pair.png --json pair.json\n'
          'or leave out --masks for superpixel regions, or add --pairwise for the paper\'s pairwise mode')
    return 0


def _add_compare(commands) -> None:
    parser = commands.add_parser('compare', help='the distortion graph of a restored image against its reference',
                                 description='Region-by-region comparison of two images of the same size, or '
                                             'of two folders (paired by file name). Reference mode: the second is '
                                             'the reference (as for score, pyiqa and BasicSR); --pairwise for the '
                                             'paper\'s mode.')
    parser.add_argument('anchor', help='restored image or folder (the anchor in pairwise mode)')
    parser.add_argument('target', help='reference image or folder (the target in pairwise mode)')
    parser.add_argument('--masks', help='regions: label-map PNG, COCO panoptic PNG or COCO RLE JSON')
    parser.add_argument('--segmenter', help='region proposer when no masks are given: superpixel '
                                            '(default), grid, grid:RxC, panoptic (trained, no clicks) or sam:CHECKPOINT')
    parser.add_argument('--points', help=POINTS_HELP + '; regions are the clicked objects')
    parser.add_argument('--method', choices=METHOD_CHOICES, help='with --points: pixel-to-click '
                                                                  'distance (default learned)')
    parser.add_argument('--weights', help='weights file (default: shipped panda-tiny or $PANDA_WEIGHTS)')
    parser.add_argument('--device', help='torch device (default cpu)')
    parser.add_argument('--reference', action='store_true', help=argparse.SUPPRESS)  # the default; kept for old scripts
    parser.add_argument('--json', help='write the graph as JSON (schema panda-dg/2)')
    parser.add_argument('--viz', help='write a PNG of the graph over both images')
    cli_folders.add_compare_options(parser)
    parser.set_defaults(handler=_compare)


def _compare(args) -> int:
    if args.reference and args.pairwise:
        raise PandaInputError('--reference and --pairwise exclude each other; reference mode is the default')
    folder = cli_folders.is_folder_run(args)
    cli_folders.check_outputs(args, folder)
    if folder:
        return cli_folders.compare_folders(args)
    from panda_plugin.engine.image_io import load_image
    from panda_plugin.engine.panda.predictor import compare
    from panda_plugin.engine.panda.reference import swap_warning

    anchor, target = load_image(args.anchor, name='anchor'), load_image(args.target, name='target')
    points = None
    if args.points is not None:
        from panda_plugin.engine.points import read_clicks

        points = read_clicks(args.points, target.shape[:2], name=Path(args.target).name)
    elif args.method is not None:
        raise PandaInputError('--method applies only with --points')
    with warnings.catch_warnings():  # said below, with the file names
        warnings.simplefilter('ignore', PandaWarning)
        graph = compare(anchor, target, masks=args.masks, segmenter=args.segmenter, points=points,
                        points_method=args.method, model=args.weights, device=args.device, pairwise=args.pairwise)
    print(graph_table(graph))
    swapped = swap_warning(graph, restored=repr(args.anchor), reference=repr(args.target))
    if swapped:
        print(f'panda compare: warning: {swapped}', file=sys.stderr)
    if args.json:
        graph.to_json(args.json, indent=2)
        print(f'wrote {args.json}')
    if args.viz:
        print(f'wrote {graph.render(args.viz, anchor, target)}')
    cli_folders.write_pair_outputs(args, anchor, target, graph)
    return 0


def _add_bench(commands) -> None:
    parser = commands.add_parser('bench', help='benchmark PANDA on a PANDABENCH database',
                                 description='Accuracy and macro F1 of relation, distortion and severity, '
                                             'SRCC/PLCC of scores, pooled over regions, beside random and '
                                             'majority-class baselines and the paper\'s PANDA.')
    parser.add_argument('--data', required=True, nargs='+', help='PANDABENCH LMDB(s) from make-dataset')
    parser.add_argument('--weights', help='weights file (default: shipped panda-tiny or $PANDA_WEIGHTS)')
    parser.add_argument('--device', help='torch device (default cpu)')
    parser.add_argument('--json', help='write the results as JSON')
    parser.add_argument('--confusion', help='write confusion matrices as a PNG')
    parser.set_defaults(handler=_bench)


def _bench(args) -> int:
    import json

    from panda_plugin.adapters.pictures.confusion import plot_confusion
    from panda_plugin.core.atomic import check_output, write_atomic
    from panda_plugin.engine.panda.benchmark import format_report, json_report, run_bench

    for option, what in (('json', '--json file'), ('confusion', '--confusion picture')):
        if getattr(args, option):
            check_output(getattr(args, option), what)
    report = run_bench(args.data, model=args.weights, device=args.device)
    print(format_report(report))
    if args.json:
        write_atomic(args.json, json.dumps(json_report(report), indent=1), '--json file')
        print(f'wrote {args.json}')
    if args.confusion:
        title = f'PANDABENCH {report["split"]}'
        print(f'wrote {plot_confusion(report["confusion"], args.confusion, title=title)}')
    return 0


def _add_export(commands) -> None:
    parser = commands.add_parser('export-weights', help='turn a training checkpoint into a safetensors '
                                                        'weights file')
    parser.add_argument('checkpoint', help='net_g_<iter>.pth written by panda train')
    parser.add_argument('--opt', required=True, help='the option file it was trained with')
    parser.add_argument('--out', required=True, help='destination .safetensors file')
    parser.set_defaults(handler=_export)


def _export(args) -> int:
    from panda_plugin.engine.panda.weights import export_weights

    path = export_weights(args.checkpoint, args.opt, args.out)
    print(f'wrote {path} ({path.stat().st_size / 2**20:.1f} MiB)')
    return 0


def _add_make_sr_data(commands) -> None:
    parser = commands.add_parser(
        'make-sr-data', help='HR images and bicubic LR versions for training a super-resolution model',
        description='Writes OUT/{train,val}/HR and OUT/{train,val}/LR_bicubic/X<scale> PNG folders for '
                    'BasicSR\'s PairedImageDataset.')
    parser.add_argument('--images', default='bundled:train',
                        help='training images: a folder, or bundled:train (default)')
    parser.add_argument('--val-images', default='bundled:bench',
                        help='validation images: a folder, or bundled:bench (default)')
    parser.add_argument('--val-count', type=int, default=4, help='validation images used (default 4)')
    parser.add_argument('--out', required=True, help='output folder, e.g. datasets/bundled_sr')
    parser.add_argument('--scale', type=int, default=4)
    parser.add_argument('--size', type=int, default=256, help='side of the training HR images (default 256)')
    parser.add_argument('--val-size', type=int, default=128, help='side of the validation HR images (default 128)')
    parser.set_defaults(handler=_make_sr_data)


def _make_sr_data(args) -> int:
    from panda_plugin.adapters.basicsr.sr_data import make_sr_data, read_folder
    from panda_plugin.engine.data.bundled import bundled_images

    sets = []
    for spec in (args.images, args.val_images):
        if spec_argument(spec, 'bundled') is not None:
            sets.append(bundled_images(spec_argument(spec, 'bundled')))
        else:
            images, skipped = read_folder(spec)
            for path, reason in skipped:
                print(f'skipped {path}: {reason}')
            sets.append(images)
    if args.val_count < 1:
        raise PandaInputError(f'--val-count {args.val_count}; accepted: an integer >= 1')
    report = make_sr_data(sets[0], sets[1][:args.val_count], args.out, args.scale, args.size, args.val_size)
    print(f'wrote {report.train} training and {report.val} validation HR/LR pairs (x{args.scale}) to {args.out}')
    return 0


#: ``panda train`` and ``panda test``: BasicSR's pipelines with the plugin registered.
_PIPELINES = {
    'train': ('train PANDA or a restoration model with BasicSR: panda train -opt OPTIONS.yml [--auto_resume]',
              "Runs BasicSR's training pipeline with the plugin registered; every argument is passed to "
              'BasicSR (-opt, --auto_resume, --launcher, --debug, ...).'),
    'test': ('test a model with BasicSR: panda test -opt OPTIONS.yml',
             "Runs BasicSR's test pipeline with the plugin registered; every argument is passed to "
             'BasicSR (-opt, --force_yml, ...). Results go to results/<name>/.'),
}


def _add_pipelines(commands) -> None:
    for name, (summary, description) in _PIPELINES.items():
        parser = commands.add_parser(name, help=summary, description=description)
        parser.add_argument('arguments', nargs=argparse.REMAINDER, help=f'BasicSR {name} arguments')
        parser.set_defaults(handler=_pipeline, pipeline=name)


def _pipeline(args) -> int:
    from panda_plugin.adapters.option_loading import check_option_arguments

    check_option_arguments(args.arguments)  # before torch and BasicSR are imported
    from panda_plugin.adapters.basicsr import training

    getattr(training, args.pipeline)(args.arguments)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``panda`` argument parser with all sub-commands."""
    parser = argparse.ArgumentParser(prog='panda', description='Panoptic pairwise distortion graphs.')
    parser.add_argument('-v', '--verbose', action='store_true', help='log progress details')
    commands = parser.add_subparsers(dest='command', required=True)
    _add_demo(commands)
    _add_compare(commands)
    cli_folders.add_score(commands)
    cli_folders.add_duel(commands)
    _add_bench(commands)
    _add_make_dataset(commands)
    _add_make_sr_data(commands)
    add_regions(commands)
    add_click_page(commands)
    add_make_points_data(commands, _shard)
    add_make_pseudo_labels(commands)
    add_export_point_weights(commands)
    _add_pipelines(commands)
    _add_export(commands)
    from panda_plugin.adapters.cli.dp import add_parser as add_dp_sweep

    add_dp_sweep(commands)
    return parser


def main(argv=None) -> int:
    """Run the ``panda`` command line.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        Exit status: 0 on success, 2 on bad input.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] in (['train'], ['test']) and argv[1:2] not in (['-h'], ['--help']):  # BasicSR parses its own options
        args = argparse.Namespace(command=argv[0], arguments=argv[1:], verbose=False, handler=_pipeline,
                                  pipeline=argv[0])
    else:
        args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format='%(levelname)s %(name)s: %(message)s')
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, _stop_once) if on_main_thread else None
    try:
        return args.handler(args)
    except PandaInputError as error:
        print(f'panda {args.command}: error: {error}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if on_main_thread:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        print(f'panda {args.command}: interrupted', file=sys.stderr)
        return 130
    finally:
        if on_main_thread:
            signal.signal(signal.SIGINT, previous)


_REPEAT_SECONDS = 2.0
_last_stop = [float('-inf')]


def _stop_once(signum, frame) -> None:
    # Ctrl-C pressed again within a moment is the same stop: it must not cut short the clean-up or
    # the last line. A press after that stops again (the first can be lost inside a finalizer).
    now = time.monotonic()
    if now - _last_stop[0] < _REPEAT_SECONDS:
        return
    _last_stop[0] = now
    raise KeyboardInterrupt


if __name__ == '__main__':
    sys.exit(main())
