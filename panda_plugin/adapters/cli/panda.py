"""PANDA's ``panda`` commands: ``demo``, ``compare`` (one pair; folders in ``folders``), ``bench``,
``make-dataset``, ``make-sr-data`` and ``export-weights``."""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from panda_plugin.adapters.cli import folders as cli_folders
from panda_plugin.adapters.cli.arguments import add_export_command, set_handler, shard
from panda_plugin.adapters.cli.graph_text import graph_table
from panda_plugin.adapters.cli.points import METHOD_CHOICES, POINTS_HELP
from panda_plugin.core.errors import PandaInputError, PandaWarning
from panda_plugin.engine.panda.data.pairs import SPLITS
from panda_plugin.engine.specs import spec_argument


def add_make_dataset(commands) -> None:
    """Add the ``make-dataset`` sub-command to the ``panda`` parser's sub-parsers."""
    parser = commands.add_parser(
        'make-dataset', help='build PANDASET training pairs or a PANDABENCH split (LMDB)',
        description='Degrade the regions of every image in a folder and store labelled pairs in LMDB.')
    parser.add_argument('--images', required=True,
                        help='folder of jpg/png/webp/bmp/tiff images (searched recursively), '
                             'or "bundled:train" / "bundled:bench" for the bundled images, '
                             '"photos:train" / "photos:bench" for the photographs of `make photos`')
    parser.add_argument('--out', required=True, help='output database folder, e.g. bench_easy.lmdb')
    parser.add_argument('--split', choices=SPLITS)
    parser.add_argument('--pairs-per-image', type=int)
    parser.add_argument('--size', type=int, help='side of the square images (default 256)')
    parser.add_argument('--seed', type=int)
    parser.add_argument('--workers', type=int)
    parser.add_argument('--shard', type=shard, help='I/N: build the I-th of N shards')
    parser.add_argument('--segmenter', help='superpixel (default), grid, grid:RxC or sam:CHECKPOINT')
    parser.add_argument('--scorer', help='ssim_psnr (default), ssim_color, ssim, psnr, pyiqa:METRIC or topiq_fr:WEIGHTS')
    set_handler(parser, make_dataset_command)


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


def make_dataset_command(images, out, *, split: str = 'train', pairs_per_image: int = 16, size: int = 256,
                         seed: int = 0, workers: int = 1, shard: tuple[int, int] = (0, 1),
                         segmenter: str = 'superpixel', scorer: str = 'ssim_psnr') -> int:
    """``panda make-dataset``: PANDASET training pairs or a PANDABENCH split in LMDB.

    Args:
        images: Image folder, ``bundled:SUBSET`` or ``photos:NAME``.
        out: Output database folder.
        split: ``engine.panda.data.pairs.SPLITS``.
        pairs_per_image: Pairs built from each image.
        size: Side of the square images.
        seed: Random seed.
        workers: Worker processes.
        shard: (I, N): build the I-th of N shards.
        segmenter: Region proposer spec.
        scorer: Region scorer (the label oracle).

    Returns:
        Exit status 0.
    """
    from panda_plugin.engine.panda.data.builder import BuildSettings, make_dataset

    if scorer.startswith(('pyiqa:', 'topiq_fr:')):
        from panda_plugin.adapters import pyiqa  # noqa: F401 (registers the pyiqa scorers)

    settings = BuildSettings(split=split, pairs_per_image=pairs_per_image, size=size, seed=seed,
                             segmenter=segmenter, scorer=scorer, shard=shard)
    out = Path(out)
    report = make_dataset(_resolve_images(images, out.parent, size), out, settings, workers=workers)
    if report.already_complete:
        print(f'{out} is already complete: {report.records} records')
        return 0
    resumed = f', {report.resumed} images resumed from an earlier run' if report.resumed else ''
    print(f'wrote {report.records} {split} pairs from {report.images} images to {out}{resumed}')
    for source, reason in report.skipped:
        print(f'skipped {source}: {reason}')
    return 0


def add_demo(commands) -> None:
    """Add the ``demo`` sub-command to the ``panda`` parser's sub-parsers."""
    parser = commands.add_parser('demo', help='compare a purposely degraded bundled image with its '
                                              'clean version using the shipped weights')
    parser.add_argument('--out', help='output folder (default demo_output)')
    set_handler(parser, demo_command)


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


def demo_command(out='demo_output') -> int:
    """``panda demo``: a bundled image degraded by quadrant, compared with its clean version.

    Args:
        out: Output folder (restored, reference, quadrant label map, graph JSON and picture).

    Returns:
        Exit status 0.
    """
    import numpy as np

    from panda_plugin.core.atomic import prepare_folder, write_atomic
    from panda_plugin.engine.data.bundled import packaged_image
    from panda_plugin.engine.distortions import degrade_regions
    from panda_plugin.engine.image_io import encode_image, save_image, square_crop
    from panda_plugin.engine.panda.predictor import compare

    out = prepare_folder(out, '--out folder')
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


def add_compare(commands) -> None:
    """Add the ``compare`` sub-command to the ``panda`` parser's sub-parsers."""
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
    set_handler(parser, compare_command)


def compare_command(anchor, target, *, masks=None, segmenter=None, points=None, method=None, weights=None,
                    device=None, reference: bool = False, pairwise: bool = False, json=None, viz=None, csv=None,
                    report=None, spatial=None, batch_size: int | None = None, worst: int = 20,
                    worst_per_image: int = 5) -> int:
    """``panda compare RESTORED REFERENCE``: the distortion graph of two images or folders.

    Args:
        anchor: Restored image or folder (the anchor in pairwise mode).
        target: Reference image or folder (the target in pairwise mode).
        masks: Regions: label-map PNG, COCO panoptic PNG or COCO RLE JSON (one pair only).
        segmenter: Region proposer spec when no masks are given. Default: superpixel.
        points: Clicks, one per object (text or JSON file); regions are the clicked objects.
        method: Click method with ``points``. Default: learned.
        weights: Weights file or shipped name. Default: the shipped weights.
        device: Torch device. Default: CPU.
        reference: Reference mode, the default (the old flag, kept for scripts).
        pairwise: The paper's pairwise mode.
        json, viz, csv, report, spatial, worst, worst_per_image: Outputs (see ``folders.Outputs``).
        batch_size: Folders: pairs per network call. Default: 1 on CPU, 8 on other devices.

    Returns:
        Exit status 0.
    """
    if reference and pairwise:
        raise PandaInputError('--reference and --pairwise exclude each other; reference mode is the default')
    folder = cli_folders.is_folder_run(anchor, target, pairwise)
    outputs = cli_folders.Outputs(json=json, viz=viz, csv=csv, report=report, spatial=spatial, worst=worst,
                                  worst_per_image=worst_per_image)
    cli_folders.check_outputs(outputs, folder)
    if folder:
        if masks:
            raise PandaInputError('--masks is for one pair of images; folders use --segmenter')
        return cli_folders.compare_folders(anchor, target, outputs, segmenter=segmenter, weights=weights,
                                           device=device, pairwise=pairwise, batch_size=batch_size)
    from panda_plugin.engine.image_io import load_image
    from panda_plugin.engine.panda.predictor import compare
    from panda_plugin.engine.panda.reference import swap_warning

    restored, clean = load_image(anchor, name='anchor'), load_image(target, name='target')
    clicks = None
    if points is not None:
        from panda_plugin.engine.points import read_clicks

        clicks = read_clicks(points, clean.shape[:2], name=Path(target).name)
    elif method is not None:
        raise PandaInputError('--method applies only with --points')
    with warnings.catch_warnings():  # said below, with the file names
        warnings.simplefilter('ignore', PandaWarning)
        graph = compare(restored, clean, masks=masks, segmenter=segmenter, points=clicks, points_method=method,
                        model=weights, device=device, pairwise=pairwise)
    print(graph_table(graph))
    swapped = swap_warning(graph, restored=repr(anchor), reference=repr(target))
    if swapped:
        print(f'panda compare: warning: {swapped}', file=sys.stderr)
    if json:
        graph.to_json(json, indent=2)
        print(f'wrote {json}')
    if viz:
        print(f'wrote {graph.render(viz, restored, clean)}')
    cli_folders.write_pair_outputs(outputs, anchor, target, graph)
    return 0


def add_bench(commands) -> None:
    """Add the ``bench`` sub-command to the ``panda`` parser's sub-parsers."""
    parser = commands.add_parser('bench', help='benchmark PANDA on a PANDABENCH database',
                                 description='Accuracy and macro F1 of relation, distortion and severity, '
                                             'SRCC/PLCC of scores, pooled over regions, beside random and '
                                             'majority-class baselines and the paper\'s PANDA.')
    parser.add_argument('--data', required=True, nargs='+', help='PANDABENCH LMDB(s) from make-dataset')
    parser.add_argument('--weights', help='weights file (default: shipped panda-tiny or $PANDA_WEIGHTS)')
    parser.add_argument('--device', help='torch device (default cpu)')
    parser.add_argument('--json', help='write the results as JSON')
    parser.add_argument('--confusion', help='write confusion matrices as a PNG')
    set_handler(parser, bench_command)


def bench_command(data, *, weights=None, device=None, json=None, confusion=None) -> int:
    """``panda bench``: PANDABENCH metrics of the network.

    Args:
        data: PANDABENCH databases (``make-dataset --split bench-*``).
        weights: Weights file or shipped name. Default: the shipped weights.
        device: Torch device. Default: CPU.
        json: The results as JSON.
        confusion: Confusion matrices as a PNG.

    Returns:
        Exit status 0.
    """
    import json as jsonlib

    from panda_plugin.adapters.pictures.confusion import plot_confusion
    from panda_plugin.core.atomic import check_output, write_atomic
    from panda_plugin.engine.panda.benchmark import format_report, json_report, run_bench

    for path, what in ((json, '--json file'), (confusion, '--confusion picture')):
        if path:
            check_output(path, what)
    report = run_bench(data, model=weights, device=device)
    print(format_report(report))
    if json:
        write_atomic(json, jsonlib.dumps(json_report(report), indent=1), '--json file')
        print(f'wrote {json}')
    if confusion:
        title = f'PANDABENCH {report["split"]}'
        print(f'wrote {plot_confusion(report["confusion"], confusion, title=title)}')
    return 0


def add_export(commands) -> None:
    """Add the ``export-weights`` sub-command to the ``panda`` parser's sub-parsers."""
    add_export_command(commands, 'export-weights', 'turn a training checkpoint into a safetensors weights file',
                       export_weights_command)


def export_weights_command(checkpoint, *, opt, out) -> int:
    """``panda export-weights``: a training checkpoint as a safetensors weights file.

    Args:
        checkpoint: ``net_g_<iter>.pth`` written by ``panda train``.
        opt: The option file it was trained with.
        out: Destination ``.safetensors`` file.

    Returns:
        Exit status 0.
    """
    from panda_plugin.engine.panda.weights import export_weights

    path = export_weights(checkpoint, opt, out)
    print(f'wrote {path} ({path.stat().st_size / 2**20:.1f} MiB)')
    return 0


def add_make_sr_data(commands) -> None:
    """Add the ``make-sr-data`` sub-command to the ``panda`` parser's sub-parsers."""
    parser = commands.add_parser(
        'make-sr-data', help='HR images and bicubic LR versions for training a super-resolution model',
        description='Writes OUT/{train,val}/HR and OUT/{train,val}/LR_bicubic/X<scale> PNG folders for '
                    'BasicSR\'s PairedImageDataset.')
    parser.add_argument('--images', help='training images: a folder, or bundled:train (default)')
    parser.add_argument('--val-images', help='validation images: a folder, or bundled:bench (default)')
    parser.add_argument('--val-count', type=int, help='validation images used (default 4)')
    parser.add_argument('--out', required=True, help='output folder, e.g. datasets/bundled_sr')
    parser.add_argument('--scale', type=int)
    parser.add_argument('--size', type=int, help='side of the training HR images (default 256)')
    parser.add_argument('--val-size', type=int, help='side of the validation HR images (default 128)')
    set_handler(parser, make_sr_data_command)


def make_sr_data_command(out, *, images: str = 'bundled:train', val_images: str = 'bundled:bench',
                         val_count: int = 4, scale: int = 4, size: int = 256, val_size: int = 128) -> int:
    """``panda make-sr-data``: HR images and bicubic LR versions for BasicSR's PairedImageDataset.

    Args:
        out: Output folder (``{train,val}/HR`` and ``{train,val}/LR_bicubic/X<scale>``).
        images: Training images: a folder or ``bundled:SUBSET``.
        val_images: Validation images: a folder or ``bundled:SUBSET``.
        val_count: Validation images used.
        scale: Downscaling factor.
        size: Side of the training HR images.
        val_size: Side of the validation HR images.

    Returns:
        Exit status 0.
    """
    from panda_plugin.adapters.basicsr.sr_data import make_sr_data, read_folder
    from panda_plugin.engine.data.bundled import bundled_images

    sets = []
    for spec in (images, val_images):
        if spec_argument(spec, 'bundled') is not None:
            sets.append(bundled_images(spec_argument(spec, 'bundled')))
        else:
            found, skipped = read_folder(spec)
            for path, reason in skipped:
                print(f'skipped {path}: {reason}')
            sets.append(found)
    if val_count < 1:
        raise PandaInputError(f'--val-count {val_count}; accepted: an integer >= 1')
    report = make_sr_data(sets[0], sets[1][:val_count], out, scale, size, val_size)
    print(f'wrote {report.train} training and {report.val} validation HR/LR pairs (x{scale}) to {out}')
    return 0
