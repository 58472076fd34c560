"""Per-image scores and the worst regions of many graphs, as rows and CSV files."""
from __future__ import annotations

import csv
import os
from pathlib import Path

#: Columns of the per-image CSV of ``panda compare DIR DIR`` and ``panda score`` (reference mode).
SCORE_COLUMNS = ('name', 'mode', 'restored', 'reference', 'score', 'relation', 'regions', 'lowest_region_score',
                 'main_distortion', 'swap_warning')
#: The columns in pairwise mode: the two images are anchor and target, each with its score.
PAIRWISE_COLUMNS = ('name', 'mode', 'anchor', 'target', 'score', 'target_image_score', 'relation', 'regions',
                    'lowest_region_score', 'main_distortion')


def score_columns(results) -> tuple:
    """``SCORE_COLUMNS``, or ``PAIRWISE_COLUMNS`` when the graphs are of the pairwise mode.

    Args:
        results: ``folder_compare.PairResult`` items.

    Returns:
        The column names.
    """
    pairwise = any(result.graph.metadata.get('mode') == 'pairwise' for result in results)
    return PAIRWISE_COLUMNS if pairwise else SCORE_COLUMNS


def score_rows(results) -> list[dict]:
    """One row per image.

    Args:
        results: ``folder_compare.PairResult`` items.

    Returns:
        Dicts with the keys of ``SCORE_COLUMNS`` and of ``PAIRWISE_COLUMNS`` (``anchor`` and
        ``target`` are the ``restored`` and ``reference`` paths); ``main_distortion`` is the
        distortion other than ``clean`` covering most of the restored image (``clean`` when
        there is none); ``swap_warning`` is ``yes`` when the reference looks clearly more
        degraded than the restored image (``engine.panda.reference.swap_warning``).
    """
    from panda_plugin.engine.panda.reference import swap_warning

    rows = []
    for result in results:
        graph = result.graph
        areas = {name: share for name, share in graph.distortion_areas('anchor').items()
                 if name != 'clean' and share > 0}
        rows.append({'name': result.name, 'mode': graph.metadata.get('mode', 'pairwise'),
                     'restored': str(result.restored), 'reference': str(result.reference),
                     'anchor': str(result.restored), 'target': str(result.reference),
                     'score': f'{graph.anchor_score:.6f}', 'target_image_score': f'{graph.target_score:.6f}',
                     'relation': graph.relation, 'regions': len(graph),
                     'lowest_region_score': f'{min(r.anchor.score for r in graph.regions):.6f}',
                     'main_distortion': max(areas, key=areas.get) if areas else 'clean',
                     'swap_warning': 'yes' if swap_warning(graph) else 'no'})
    return rows


def worst_regions(results, count: int = 20) -> list[dict]:
    """The lowest-scoring regions of the restored images, across all of them.

    Args:
        results: ``folder_compare.PairResult`` items.
        count: Rows returned. Default: 20.

    Returns:
        Dicts (``name``, ``region``, ``bbox``, ``area`` share of the image, ``score``,
        ``distortion``, ``severity``, ``relation``), lowest score first (larger regions first
        among equal scores).
    """
    rows = []
    for result in results:
        height, width = result.graph.image_size
        for region in result.graph.regions:
            rows.append({'name': result.name, 'region': region.id, 'bbox': ','.join(map(str, region.bbox)),
                         'area': region.area / (height * width), 'score': region.anchor.score,
                         'distortion': region.anchor.distortion, 'severity': region.anchor.severity,
                         'relation': region.relation})
    rows.sort(key=lambda row: (row['score'], -row['area']))
    return rows[:count]


def write_csv(rows: list[dict], path: str | os.PathLike, columns=SCORE_COLUMNS) -> Path:
    """Write rows as a CSV file with a header.

    Args:
        rows: Dicts with at least ``columns``.
        path: Destination file.
        columns: Column names, in order.

    Returns:
        The written path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open('w', newline='', encoding='utf-8') as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction='ignore')
        writer.writeheader()
        writer.writerows(rows)
    return path
