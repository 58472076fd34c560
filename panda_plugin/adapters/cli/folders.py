"""The ``panda`` sub-commands over many images: ``compare DIR DIR`` (CSV, HTML report, quality
maps), ``score`` (what ``pyiqa METRIC -t -r`` does, for PANDA) and ``duel`` (model vs model)."""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from panda_plugin.adapters.cli.arguments import set_handler
from panda_plugin.core.atomic import check_output, prepare_folder, write_atomic
from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.taxonomy import SAME_THRESHOLD


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f'{text!r}; accepted: an integer >= 1')
    return int(text)


def add_compare_options(parser) -> None:
    """Options of ``panda compare`` for folders, CSV, reports and quality maps."""
    parser.add_argument('--csv', help='write per-image scores as CSV (name, score, relation, ...)')
    parser.add_argument('--report', help='write a self-contained HTML report (graph pictures, worst regions)')
    parser.add_argument('--spatial', help='write the quality map (region scores painted on the pixels) as '
                                          'a PNG; a folder of PNGs when comparing folders')
    parser.add_argument('--pairwise', action='store_true',
                        help="the paper's pairwise mode: two images of unknown quality, every label from the network "
                             '(default: reference mode, the second image or folder is the reference)')
    parser.add_argument('--batch-size', type=_positive, help='folders: pairs per network call (default 1 on CPU, else 8)')
    parser.add_argument('--worst', type=_row_count, help='rows of the worst-regions table (default 20)')
    parser.add_argument('--worst-per-image', type=_positive,
                        help='folders: most worst regions from one image, printed and in the report (default 5)')


@dataclass(frozen=True)
class Outputs:
    """What compare, score and duel write besides stdout (None: not written).

    Args:
        json: Graph JSON (a folder of them when comparing folders; one file for a duel).
        viz: Picture (a folder of them when comparing folders).
        csv: Per-image scores as CSV.
        report: Self-contained HTML report.
        spatial: Quality map PNG (a folder of them when comparing folders).
        worst: Rows of the worst-regions table (stdout and report). Default: 20.
        worst_per_image: At most this many of those rows from one image, and the rows of each
            image's table in the report. Default: 5.
    """

    json: str | None = None
    viz: str | None = None
    csv: str | None = None
    report: str | None = None
    spatial: str | None = None
    worst: int = 20
    worst_per_image: int = 5


def check_paths(named: dict) -> bool:
    """Refuse paths that do not exist, naming them, before anything heavy is imported.

    Args:
        named: What to call each path (e.g. ``'reference'``) -> the path given.

    Returns:
        True when all are folders, False when all are files.

    Raises:
        PandaInputError: A missing path (the first one), or files mixed with folders.
    """
    for what, path in named.items():
        if not Path(path).exists():
            parent = Path(path).parent
            where = '' if parent.is_dir() else f' (nor does its folder {str(parent)!r})'
            raise PandaInputError(f'{what} {str(path)!r} does not exist{where}; accepted: an image file or a folder')
    folders = {what: Path(path).is_dir() for what, path in named.items()}
    if any(folders.values()) and not all(folders.values()):
        kinds = ', '.join(f'{what} {str(named[what])!r} is a {"folder" if is_dir else "file"}'
                          for what, is_dir in folders.items())
        every = 'both' if len(named) == 2 else 'all'
        raise PandaInputError(f'{kinds}; accepted: {" and ".join(named)} {every} image files or {every} folders')
    return all(folders.values())


def is_folder_run(anchor, target, pairwise: bool) -> bool:
    """Whether ``panda compare`` was given two folders (missing paths and one folder with one
    file are errors)."""
    names = ('anchor', 'target') if pairwise else ('restored', 'reference')
    return check_paths({names[0]: anchor, names[1]: target})


def warn_swapped(command: str, results) -> None:
    """One line on stderr naming the pairs whose reference looks clearly more degraded than
    the restored image (``engine.panda.reference.swap_warning``), when there are any."""
    from panda_plugin.engine.panda.reference import swap_warning

    suspects = [result.name for result in results if swap_warning(result.graph)]
    if suspects:
        shown = ', '.join(suspects[:5]) + (f' and {len(suspects) - 5} more' if len(suspects) > 5 else '')
        print(f'panda {command}: warning: in {len(suspects)} of {len(results)} pairs ({shown}) the reference looks '
              'more degraded than the restored image; the two may be swapped: give the restored images first and '
              'the references second', file=sys.stderr)


#: Output options of compare, score and duel: (option, what, a folder of files when comparing folders).
_OUTPUTS = (('json', '--json file', True), ('viz', '--viz picture', True), ('csv', '--csv file', False),
            ('report', '--report file', False), ('spatial', '--spatial picture', True))


def check_outputs(outputs: Outputs, folder: bool, one_json: bool = False) -> None:
    """Refuse output paths that cannot be written before any image is read (``core.atomic``).

    Args:
        outputs: The outputs of ``compare``, ``score`` or ``duel``.
        folder: Folders are compared (``--json``, ``--viz`` and ``--spatial`` are then folders).
        one_json: ``--json`` is one file for all folders (``duel``).
    """
    for option, what, per_image in _OUTPUTS:
        path = getattr(outputs, option)
        if path:
            many = folder and per_image and not (one_json and option == 'json')
            check_output(path, what.replace('file', 'folder').replace('picture', 'folder') if many else what,
                         folder=many)


def compare_folders(anchor, target, outputs: Outputs, *, segmenter=None, weights=None, device=None,
                    pairwise: bool = False, batch_size: int | None = None) -> int:
    """``panda compare DIR_RESTORED DIR_REFERENCE``: reference mode unless ``pairwise``.

    Args:
        anchor: Folder of restored images (anchors in pairwise mode).
        target: Folder of references (targets in pairwise mode), paired by file name.
        outputs: What to write.
        segmenter: Region proposer spec. Default: superpixel.
        weights: Weights file or shipped name. Default: the shipped weights.
        device: Torch device. Default: CPU.
        pairwise: The paper's pairwise mode.
        batch_size: Pairs per network call. Default: 1 on CPU, 8 on other devices.

    Returns:
        Exit status 0.
    """
    from panda_plugin.engine.panda.folder_compare import compare_pairs
    from panda_plugin.engine.panda.folders import pair_folders

    pairs = pair_folders(anchor, target)
    results = compare_pairs(pairs, segmenter=segmenter, model=weights, device=device, reference=not pairwise,
                            batch_size=batch_size)
    mode = 'pairwise' if pairwise else 'reference'
    scores = [result.graph.anchor_score for result in results]
    width = max(len(result.name) for result in results)
    for result in results:
        print(f'{result.name:<{width}}  {result.graph.anchor_score:.4f}  {result.graph.relation}')
    print(f'{len(results)} pairs ({mode} mode): mean score {sum(scores) / len(scores):.4f}, '
          f'lowest {min(scores):.4f} ({results[scores.index(min(scores))].name})')
    warn_swapped('compare', results)
    _write_outputs(outputs, results, folder=True)
    return 0


def write_pair_outputs(outputs: Outputs, anchor, target, graph) -> None:
    """``--csv``, ``--report`` and ``--spatial`` of ``panda compare`` on one pair of files.

    Args:
        outputs: What to write.
        anchor: Path of the restored image (anchor).
        target: Path of the reference (target).
        graph: Their distortion graph.
    """
    from panda_plugin.engine.panda.folder_compare import PairResult

    _write_outputs(outputs, [PairResult(Path(anchor).stem, Path(anchor), Path(target), graph)], folder=False)


def _write_outputs(outputs: Outputs, results, folder: bool) -> None:
    from panda_plugin.adapters.score_tables import score_columns, score_rows, worst_regions, write_csv

    if folder:
        for option, suffix, write in (('json', '.json', lambda r, p: r.graph.to_json(p, indent=2)),
                                      ('viz', '.png', lambda r, p: r.graph.render(p, r.restored, r.reference))):
            if getattr(outputs, option):
                out = prepare_folder(getattr(outputs, option), f'--{option} folder')
                for result in results:
                    write(result, out / f'{result.name}{suffix}')
                print(f'wrote {len(results)} {suffix[1:].upper()} files to {out}')
        print('worst regions:')
        for row in worst_regions(results, outputs.worst, most_per_image=outputs.worst_per_image):
            print(f'  {row["name"]} region {row["region"]} ({100 * row["area"]:.1f}% at {row["bbox"]}): '
                  f'{row["score"]:.3f} {row["distortion"]}/{row["severity"]}'
                  + ('' if row.get('texture') is None else f', texture {row["texture"]:.3f}'))
    if outputs.csv:
        print(f'wrote {write_csv(score_rows(results), outputs.csv, score_columns(results))}')
    if outputs.spatial:
        from panda_plugin.adapters.pictures.graph import save_score_map

        if folder:
            out = prepare_folder(outputs.spatial, '--spatial folder')
            for result in results:
                save_score_map(result.graph, out / f'{result.name}_map.png')
            print(f'wrote {len(results)} quality maps to {out}')
        else:
            print(f'wrote {save_score_map(results[0].graph, outputs.spatial)}')
    if outputs.report:
        from panda_plugin.adapters.reports import write_report

        print(f'wrote {write_report(results, outputs.report, worst=outputs.worst, per_image=outputs.worst_per_image)}')


def add_score(commands) -> None:
    """``panda score -t RESTORED -r REFERENCE``: pyiqa's command line for the metric ``panda``."""
    parser = commands.add_parser(
        'score', help='PANDA scores of restored images against references, like pyiqa panda -t -r',
        description='Reference-mode PANDA score (1 = identical) of an image or of every image of a folder '
                    '(paired with the reference folder by file name), with a progress bar and CSV output.')
    parser.add_argument('-t', '--target', required=True, help='restored image or folder')
    parser.add_argument('-r', '--ref', required=True, help='reference image or folder')
    parser.add_argument('--csv', help='write per-image scores as CSV')
    parser.add_argument('--segmenter', help='region proposer: superpixel (default), grid, grid:RxC, panoptic, sam:CHECKPOINT')
    parser.add_argument('--weights', help='weights file (default: shipped panda-tiny or $PANDA_WEIGHTS)')
    parser.add_argument('--device', help='torch device (default cpu)')
    parser.add_argument('--batch-size', type=_positive, help='pairs per network call (default 1 on CPU, else 8)')
    set_handler(parser, score_command)


def score_command(target, ref, *, csv=None, segmenter=None, weights=None, device=None, batch_size=None) -> int:
    """``panda score -t RESTORED -r REFERENCE``: one reference-mode score per image.

    Args:
        target: Restored image or folder.
        ref: Reference image or folder (paired by file name).
        csv: Per-image scores as CSV.
        segmenter: Region proposer spec. Default: superpixel.
        weights: Weights file or shipped name. Default: the shipped weights.
        device: Torch device. Default: CPU.
        batch_size: Pairs per network call. Default: 1 on CPU, 8 on other devices.

    Returns:
        Exit status 0.
    """
    folders = check_paths({'-t': target, '-r': ref})
    check_outputs(Outputs(csv=csv), folders)
    from panda_plugin.adapters.score_tables import score_rows, write_csv
    from panda_plugin.engine.panda.folder_compare import compare_pairs
    from panda_plugin.engine.panda.folders import ImageSet, pair_folders

    target, ref = Path(target), Path(ref)
    pairs = pair_folders(target, ref) if folders else [ImageSet(target.stem, (target, ref))]
    results = compare_pairs(pairs, segmenter=segmenter, model=weights, device=device, batch_size=batch_size,
                            progress=len(pairs) > 1)
    for result in results:
        print(f'{result.name}\t{result.graph.anchor_score:.6f}')
    if len(results) > 1:
        print(f'mean\t{sum(r.graph.anchor_score for r in results) / len(results):.6f}')
    warn_swapped('score', results)
    if csv:
        print(f'wrote {write_csv(score_rows(results), csv)}')
    return 0


def add_duel(commands) -> None:
    """``panda duel A B --reference GT``: two restorations compared region by region."""
    parser = commands.add_parser(
        'duel', help='which of two restorations of one reference is better where, by how much',
        description='Scores A and B against the reference on the same regions (from the reference); in each '
                    'region the score difference with the 0.1 / 0.3 thresholds says which is better. Files or '
                    'folders (paired by file name).')
    parser.add_argument('a', help='first restored image or folder')
    parser.add_argument('b', help='second restored image or folder')
    parser.add_argument('--reference', required=True, help='reference image or folder')
    parser.add_argument('--json', help='write the duel as JSON (schema panda-duel/2; folders: one file for all)')
    parser.add_argument('--viz', help='write the duel picture as PNG (folders: a folder of PNGs)')
    parser.add_argument('--report', help='write a self-contained HTML report: the summary (mean score per method, '
                                         'images and regions won, distortions left), a row and a picture per image')
    parser.add_argument('--masks', help='regions (one image triple): label-map PNG, COCO panoptic PNG or RLE JSON')
    parser.add_argument('--segmenter', help='region proposer: superpixel (default), grid, grid:RxC, panoptic, sam:CHECKPOINT')
    parser.add_argument('--weights', help='weights file (default: shipped panda-tiny or $PANDA_WEIGHTS)')
    parser.add_argument('--device', help='torch device (default cpu)')
    set_handler(parser, duel_command)


def duel_command(a, b, *, reference, json=None, viz=None, report=None, masks=None, segmenter=None, weights=None,
                 device=None) -> int:
    """``panda duel A B --reference GT``: two restorations compared region by region.

    Args:
        a: First restored image or folder.
        b: Second restored image or folder.
        reference: Reference image or folder (folders paired by file name).
        json: The duel as JSON (folders: one file for all).
        viz: The duel picture (folders: a folder of them).
        report: Self-contained HTML report.
        masks: Regions of one image triple (label-map PNG, COCO panoptic PNG or RLE JSON).
        segmenter: Region proposer spec. Default: superpixel.
        weights: Weights file or shipped name. Default: the shipped weights.
        device: Torch device. Default: CPU.

    Returns:
        Exit status 0.
    """
    import json as jsonlib

    folders = check_paths({'A': a, 'B': b, '--reference': reference})
    check_outputs(Outputs(json=json, viz=viz, report=report), folders, one_json=True)
    from panda_plugin.adapters.pictures.duel import save_duel_picture
    from panda_plugin.engine.panda.duel import duel, duel_folders, folder_summary

    if folders:
        if masks:
            raise PandaInputError('--masks is for one image triple; folders use --segmenter')
        duels = duel_folders(a, b, reference, segmenter=segmenter, model=weights, device=device)
    else:
        names = (Path(a).stem, Path(b).stem)
        if names[0] == names[1]:
            names = (str(Path(a).parent.name or 'A') + '/' + names[0], str(Path(b).parent.name or 'B') + '/' + names[1])
        from panda_plugin.engine.panda.folders import ImageSet

        one = duel(a, b, reference, masks=masks, segmenter=segmenter, model=weights, device=device, names=names)
        duels = [(ImageSet(Path(a).stem, (Path(a), Path(b), Path(reference))), one)]
    for images, match in duels:
        summary = match.summary()
        left, right = match.names
        print(f'{images.name}: {left} {match.score_a:.4f}, {right} {match.score_b:.4f}: '
              + ('same quality' if match.relation == 'same' else f'{left} {match.relation.replace("_", " ")}')
              + f'; {left} better on {100 * summary["a_better"]["area"]:.0f}% of the area '
              f'({summary["a_better"]["regions"]} regions), {right} on {100 * summary["b_better"]["area"]:.0f}% '
              f'({summary["b_better"]["regions"]}), tie {100 * summary["tie"]["area"]:.0f}%')
        if match.texture_a is not None:
            print(f'  texture: {left} {match.texture_a:.4f}, {right} {match.texture_b:.4f}'
                  + _texture_split(match))
        for key, name in (('a', left), ('b', right)):
            left_over = ', '.join(f'{d} {100 * s:.0f}%' for d, s in sorted(summary[f'distortions_{key}'].items(),
                                                                         key=lambda item: -item[1]))
            print(f'  {name} leaves: {left_over or "nothing visible"}')
    summary = folder_summary([match for _, match in duels]) if folders else None
    if summary:
        print(summary_text(summary))
    if json:
        data = duels[0][1].to_dict() if not folders else {
            'schema': 'panda-duel-folder/1', 'a': a, 'b': b, 'reference': reference,
            'summary': summary, 'images': [{'name': images.name, **match.to_dict()} for images, match in duels]}
        write_atomic(json, jsonlib.dumps(data, indent=1), '--json file')
        print(f'wrote {json}')
    if report:
        from panda_plugin.adapters.duel_report import write_duel_report

        matches = [match for _, match in duels]
        print(f'wrote {write_duel_report(duels, summary or folder_summary(matches), report)}')
    if viz:
        if folders:
            out = prepare_folder(viz, '--viz folder')
            for images, match in duels:
                save_duel_picture(match, out / f'{images.name}_duel.png', *images.paths)
            print(f'wrote {len(duels)} duel pictures to {out}')
        else:
            print(f'wrote {save_duel_picture(duels[0][1], viz, *duels[0][0].paths)}')
    return 0


def _texture_split(match) -> str:
    """Where one restoration wins on fidelity and the other on texture (share of the area)."""
    total = sum(r.area for r in match.regions)
    split = {key: sum(r.area for r in match.regions if r.winner == key
                      and (r.texture_b - r.texture_a) * (1 if key == 'a' else -1) >= SAME_THRESHOLD) / total
             for key in ('a', 'b')}
    names = dict(zip('ab', match.names))
    parts = [f'{names[key]} has the better fidelity but {names["b" if key == "a" else "a"]} the better texture '
             f'on {100 * share:.0f}% of the area' for key, share in split.items() if share > 0]
    return ('; ' + '; '.join(parts)) if parts else ''


def summary_text(summary: dict) -> str:
    """The lines of ``engine.panda.duel.folder_summary`` for stdout.

    Args:
        summary: The folder summary.

    Returns:
        Four lines: mean scores, images won, regions won, and the distortions each leaves most.
    """
    left, right = summary['names']
    won, higher, regions = summary['images_won'], summary['higher_score'], summary['regions_won']
    lines = [f'all {summary["images"]} images: mean score {left} {summary["mean_score"]["a"]:.4f}, '
             f'{right} {summary["mean_score"]["b"]:.4f}',
             f'  images won (difference 0.1 or more): {left} {won["a"]}, {right} {won["b"]}, tie {won["tie"]}; '
             f'higher score: {left} {higher["a"]}, {right} {higher["b"]}'
             + (f', equal {higher["equal"]}' if higher['equal'] else ''),
             f'  regions won: {left} {regions["a"]}, {right} {regions["b"]}, tie {regions["tie"]} '
             f'of {regions["total"]}']
    for key, name in (('a', left), ('b', right)):
        most = ', '.join(f'{d} {100 * s:.0f}%' for d, s in list(summary[f'distortions_{key}'].items())[:3])
        lines.append(f'  {name} leaves most (mean share of the image): {most or "nothing visible"}')
    return '\n'.join(lines)


def _row_count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f'{text!r}; accepted: an integer >= 0')
    return int(text)
