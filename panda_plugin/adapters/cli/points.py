"""``panda regions``: regions from clicks (or from a region proposer), written as a 16-bit
label map and a picture; the click data, pseudo-label and weight-export commands."""
from __future__ import annotations

from pathlib import Path

from panda_plugin.adapters.cli.arguments import add_export_command, set_handler, shard
from panda_plugin.core.errors import PandaInputError

#: Help text of ``--points``.
POINTS_HELP = ('clicks, one per object: "x,y;x,y" (add ",stuff" to a click on sky, wall, ...) '
               'or a JSON file ([{"x":..,"y":..,"kind":..}, ...], or keyed by image name)')
#: Choices of ``--method``.
METHOD_CHOICES = ('learned', 'geodesic', 'euclidean')


def add_regions(commands) -> None:
    """Add the ``regions`` sub-command.

    Args:
        commands: The sub-parsers of the ``panda`` parser.
    """
    parser = commands.add_parser(
        'regions', help='regions of the objects you clicked (or of a region proposer): a label map PNG '
                        'and a picture',
        description='Turns one click per object into a label map covering every pixel '
                    '(region i+1 for click i, in click order; 16-bit PNG). Without clicks, '
                    '--segmenter (e.g. panoptic) draws the regions.')
    parser.add_argument('image', help='image file')
    parser.add_argument('--points', help=POINTS_HELP)
    parser.add_argument('--segmenter', help='instead of --points: a region proposer, e.g. panoptic (trained, '
                                            'no clicks), superpixel, grid:RxC')
    parser.add_argument('--method', choices=METHOD_CHOICES, help='pixel-to-click distance (default: learned)')
    parser.add_argument('--weights', help='weights of the learned method (default: shipped points-boundary)')
    parser.add_argument('--out', required=True, help='16-bit label-map PNG to write')
    parser.add_argument('--viz', help='PNG picture of the regions over the image')
    set_handler(parser, regions_command)


def regions_command(image, *, out, points=None, segmenter=None, method=None, weights=None, viz=None) -> int:
    """Run ``panda regions``: the regions of clicked objects, or of a region proposer.

    Args:
        image: Image file.
        out: 16-bit label-map PNG to write (value i+1 for click or region i).
        points: Clicks, one per object (text or JSON file); exactly one of ``points`` and
            ``segmenter``.
        segmenter: Region proposer spec (e.g. ``panoptic``) instead of clicks.
        method: Click method. Default: learned.
        weights: Weights of the learned method. Default: shipped points-boundary.
        viz: PNG picture of the regions over the image.

    Returns:
        Exit status 0.
    """
    import numpy as np

    from panda_plugin.core.atomic import check_output
    from panda_plugin.engine.image_io import load_image, save_image
    from panda_plugin.engine.points import DEFAULT_METHOD, click_regions, read_clicks

    if (points is None) == (segmenter is None):
        raise PandaInputError('panda regions needs exactly one of --points CLICKS and --segmenter SPEC')
    out = Path(out)
    if out.suffix.lower() != '.png':
        raise PandaInputError(f'--out {str(out)!r}; accepted: a .png path')
    check_output(out, '--out label map')
    if viz:
        check_output(viz, '--viz picture')
    name, image = Path(image).name, load_image(image, convert=True)
    if segmenter is not None:
        if method is not None or weights is not None:
            raise PandaInputError('--method and --weights apply only with --points')
        return _proposer_regions(image, segmenter, out, viz)
    clicks = read_clicks(points, image.shape[:2], name=name)
    method = method or DEFAULT_METHOD
    labels = click_regions(image, clicks, method, weights=weights)
    write_label_map(out, labels)
    areas = np.bincount(labels.ravel(), minlength=len(clicks))
    total = labels.size
    for index, ((x, y), kind) in enumerate(zip(clicks.xy.tolist(), clicks.kinds)):
        print(f'region {index + 1:>3}: click ({x}, {y}) {kind:<5} {100 * areas[index] / total:5.1f}% of the image')
    print(f'wrote {out} ({method}; 16-bit, value i+1 for click i)')
    if viz:
        from panda_plugin.adapters.pictures.clicks import render_click_regions

        save_image(viz, render_click_regions(image, labels, clicks.xy))
        print(f'wrote {viz}')
    return 0


def write_label_map(out: Path, labels) -> None:
    """Write a label map as a 16-bit PNG, value i+1 for region i (0 outside every region), atomically.

    Args:
        out: The ``.png`` path.
        labels: int32 HxW label map.
    """
    import numpy as np

    from panda_plugin.core.atomic import write_atomic
    from panda_plugin.engine.image_io import encode_image

    write_atomic(out, encode_image(out, (labels + 1).astype(np.uint16)), 'label map')


def _proposer_regions(image, segmenter: str, out: Path, viz) -> int:
    """``panda regions --segmenter SPEC``: the proposer's label map and picture."""
    import numpy as np

    from panda_plugin.engine.image_io import save_image
    from panda_plugin.engine.regions import build_segmenter

    labels = build_segmenter(segmenter)(image)
    write_label_map(out, labels)
    print(f'wrote {out} ({segmenter}: {int(labels.max()) + 1} regions; 16-bit, value i+1 for region i)')
    if viz:
        from panda_plugin.adapters.pictures.clicks import render_click_regions

        save_image(viz, render_click_regions(image, labels, np.zeros((0, 2), np.int64)))
        print(f'wrote {viz}')
    return 0


def add_make_points_data(commands) -> None:
    """Add the ``make-points-data`` sub-command.

    Args:
        commands: The sub-parsers of the ``panda`` parser.
    """
    parser = commands.add_parser(
        'make-points-data', help='scenes with exact panoptic ground truth and one click per instance (LMDB)',
        description='Procedural scenes, dead leaves with photo textures and copy-paste composites; '
                    'the test split uses held-out photographs and seeds.')
    parser.add_argument('--out', required=True, help='output database folder, e.g. points_train.lmdb')
    parser.add_argument('--split', choices=('train', 'test'))
    parser.add_argument('--count', type=int, help='scenes in the split (default 1000)')
    parser.add_argument('--size', type=int, help='side of the square scenes (default 128)')
    parser.add_argument('--seed', type=int)
    parser.add_argument('--workers', type=int)
    parser.add_argument('--shard', type=shard, help='I/N: build the I-th of N shards')
    set_handler(parser, make_points_data_command)


def make_points_data_command(out, *, split: str = 'train', count: int = 1000, size: int = 128, seed: int = 0,
                             workers: int = 1, shard: tuple[int, int] = (0, 1)) -> int:
    """Run ``panda make-points-data``: scenes with exact panoptic ground truth and clicks.

    Args:
        out: Output database folder.
        split: ``'train'`` or ``'test'`` (held-out photographs and seeds).
        count: Scenes in the split.
        size: Side of the square scenes.
        seed: Random seed.
        workers: Worker processes.
        shard: (I, N): build the I-th of N shards.

    Returns:
        Exit status 0.
    """
    from panda_plugin.engine.points.points_data import PointsSettings, make_points_data

    settings = PointsSettings(split=split, count=count, size=size, seed=seed, shard=shard)
    records = make_points_data(out, settings, workers=workers)
    print(f'{out}: {records} {split} scenes')
    return 0


def add_make_pseudo_labels(commands) -> None:
    """Add the ``make-pseudo-labels`` sub-command.

    Args:
        commands: The sub-parsers of the ``panda`` parser.
    """
    parser = commands.add_parser(
        'make-pseudo-labels', help='click regions of every scene of a points database (.npz), the targets '
                                   'of the panoptic segmenter',
        description='Runs a click method on the clicks of every scene; the dense ground truth is not read.')
    parser.add_argument('data', help='points database folder from make-points-data')
    parser.add_argument('--out', required=True, help='destination .npz file')
    parser.add_argument('--method', choices=METHOD_CHOICES,
                        help='click method that draws the pseudo-labels (default geodesic)')
    set_handler(parser, make_pseudo_labels_command)


def make_pseudo_labels_command(data, *, out, method: str = 'geodesic') -> int:
    """Run ``panda make-pseudo-labels``: click regions of every scene of a points database.

    Args:
        data: Points database folder (``make-points-data``).
        out: Destination ``.npz`` file.
        method: Click method that draws the pseudo-labels.

    Returns:
        Exit status 0.
    """
    from panda_plugin.engine.points.pseudo_labels import make_pseudo_labels

    print(f'wrote {make_pseudo_labels(data, out, method)}')
    return 0


def add_export_point_weights(commands) -> None:
    """Add the ``export-point-weights`` sub-command.

    Args:
        commands: The sub-parsers of the ``panda`` parser.
    """
    add_export_command(commands, 'export-point-weights', 'turn a ClickBoundaryNet or PanopticSegmenterNet '
                       'training checkpoint into a safetensors file', export_point_weights_command)


def export_point_weights_command(checkpoint, *, opt, out) -> int:
    """Run ``panda export-point-weights``: a click or panoptic network checkpoint as safetensors.

    Args:
        checkpoint: ``net_g_<iter>.pth`` written by ``panda train``.
        opt: The option file it was trained with.
        out: Destination ``.safetensors`` file.

    Returns:
        Exit status 0.
    """
    from panda_plugin.core.option_file import load_option_file
    from panda_plugin.engine.checkpoints import load_tensors
    from panda_plugin.engine.points.learned import CLICK_NETWORKS, export_point_weights
    from panda_plugin.engine.points.models.panoptic_arch import PanopticSegmenterNet

    archs = {**CLICK_NETWORKS, 'PanopticSegmenterNet': PanopticSegmenterNet}
    options = load_option_file(opt).get('network_g')
    options = dict(options) if isinstance(options, dict) else {}
    arch = options.pop('type', None)
    if arch not in archs:
        raise PandaInputError(f'{opt!r}: network_g.type is {arch!r}; accepted: {", ".join(archs)}')
    checkpoint = load_tensors(checkpoint)
    network = archs[arch](**options)
    network.load_state_dict(checkpoint.get('params', checkpoint))
    path = export_point_weights(network, out)
    print(f'wrote {path} ({path.stat().st_size / 2**20:.2f} MiB)')
    return 0


def add_click_page(commands) -> None:
    """Add the ``click-page`` sub-command.

    Args:
        commands: The sub-parsers of the ``panda`` parser.
    """
    parser = commands.add_parser(
        'click-page', help='write a local HTML page to click objects on an image and save clicks.json',
        description='Open the page in a browser, click one point per object (shift-click: stuff) '
                    'and press Save; pass the file to --points.')
    parser.add_argument('image', help='image file')
    parser.add_argument('--out', help='HTML file to write (default clicks.html)')
    set_handler(parser, click_page_command)


def click_page_command(image, *, out='clicks.html') -> int:
    """Run ``panda click-page``: a local HTML page to click objects and save ``clicks.json``.

    Args:
        image: Image file.
        out: HTML file to write.

    Returns:
        Exit status 0.
    """
    from panda_plugin.adapters.click_page import click_page

    print(f'wrote {click_page(image, out)}; open it in a browser, click, press Save, then '
          f'panda regions {image} --points clicks.json --out labels.png --viz regions.png')
    return 0
