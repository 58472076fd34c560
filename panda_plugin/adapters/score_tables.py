"""Per-image scores and the worst regions of many graphs, as rows and CSV files."""
from __future__ import annotations

import csv
import io
import os
from collections import Counter
from pathlib import Path

from panda_plugin.core.atomic import write_atomic

#: Columns of the per-image CSV of ``panda compare DIR DIR`` and ``panda score`` (reference mode).
SCORE_COLUMNS = ('name', 'mode', 'restored', 'reference', 'score', 'texture', 'relation', 'regions', 'lowest_region_score',
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

#: Per-region numbers of the restored image (``RegionLabel`` attributes) that the tables, the
#: HTML report and TensorBoard show, each as a column or a curve.
REGION_NUMBERS = ('score', 'texture')


def region_numbers(label) -> dict[str, float]:
    """The ``REGION_NUMBERS`` a region label carries (a graph of an older schema may lack some).

    Args:
        label: A ``RegionLabel``.

    Returns:
        ``{number: value}`` in the order of ``REGION_NUMBERS``.
    """
    return {number: float(getattr(label, number)) for number in REGION_NUMBERS
            if getattr(label, number, None) is not None}


def score_rows(results) -> list[dict]:
    """One row per image.

    Args:
        results: ``folder_compare.PairResult`` items.

    Returns:
        Dicts with the keys of ``SCORE_COLUMNS`` and of ``PAIRWISE_COLUMNS`` (``anchor`` and
        ``target`` are the ``restored`` and ``reference`` paths); ``main_distortion`` is the
        distortion other than ``clean`` covering most of the restored image (``clean`` when
        there is none); ``texture`` is the whole-image texture score (empty for graphs without
        texture); ``swap_warning`` is ``yes`` when the reference looks clearly more
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
                     'texture': '' if graph.anchor_texture is None else f'{graph.anchor_texture:.6f}',
                     'relation': graph.relation, 'regions': len(graph),
                     'lowest_region_score': f'{min(r.anchor.score for r in graph.regions):.6f}',
                     'main_distortion': max(areas, key=areas.get) if areas else 'clean',
                     'swap_warning': 'yes' if swap_warning(graph) else 'no'})
    return rows


def worst_regions(results, count: int = 20, most_per_image: int | None = None) -> list[dict]:
    """The lowest-scoring regions of the restored images, across all of them.

    Args:
        results: ``folder_compare.PairResult`` items.
        count: Rows returned. Default: 20.
        most_per_image: At most this many rows from one image. Default: no limit.

    Returns:
        Dicts (``name``, ``region``, ``bbox``, ``area`` share of the image, the
        ``REGION_NUMBERS`` the graph carries, ``distortion``, ``severity``, ``relation``), lowest
        score first (larger regions first among equal scores).
    """
    rows = []
    for result in results:
        height, width = result.graph.image_size
        for region in result.graph.regions:
            rows.append({'name': result.name, 'region': region.id, 'bbox': ','.join(map(str, region.bbox)),
                         'area': region.area / (height * width), **region_numbers(region.anchor),
                         'distortion': region.anchor.distortion, 'severity': region.anchor.severity,
                         'relation': region.relation})
    rows.sort(key=lambda row: (row['score'], -row['area']))
    if most_per_image is None:
        return rows[:count]
    kept, taken = [], Counter()
    for row in rows:
        if taken[row['name']] < most_per_image:
            taken[row['name']] += 1
            kept.append(row)
    return kept[:count]


def spreadsheet_safe(value):
    """A CSV cell that a spreadsheet shows as text: text starting with ``=``, ``+``, ``-``, ``@``,
    a tab or a carriage return (a formula to Excel, LibreOffice and Google Sheets) gets a leading
    ``'``; numbers are left as they are.

    Args:
        value: The cell.

    Returns:
        The cell to write.
    """
    if isinstance(value, str) and value[:1] in ('=', '+', '-', '@', '\t', '\r'):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def write_csv(rows: list[dict], path: str | os.PathLike, columns=SCORE_COLUMNS) -> Path:
    """Write rows as a CSV file with a header, atomically, every text cell spreadsheet-safe.

    Args:
        rows: Dicts with at least ``columns``.
        path: Destination file.
        columns: Column names, in order.

    Returns:
        The written path.
    """
    text = io.StringIO(newline='')
    writer = csv.DictWriter(text, fieldnames=list(columns), extrasaction='ignore')
    writer.writeheader()
    writer.writerows({key: spreadsheet_safe(value) for key, value in row.items()} for row in rows)
    return write_atomic(path, text.getvalue(), 'CSV file')
