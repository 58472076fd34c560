"""The HTML report of a duel of two restorations: one self-contained file with the folder
summary (mean score per method, images and regions won, the distortions each leaves most),
one row per image and each image's duel picture (inlined as base64 PNG)."""
from __future__ import annotations

import os
from pathlib import Path

from tqdm import tqdm

from panda_plugin.adapters.pictures.duel import render_duel
from panda_plugin.adapters.reports import _anchor, _data_uri, _e  # the folder report's HTML helpers
from panda_plugin.core.atomic import write_atomic

_STYLE = """
body{font-family:sans-serif;margin:2em auto;color:#222;max-width:1180px;padding:0 1em}
table{border-collapse:collapse;margin:0.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f2f2f2}td.l,th.l{text-align:left}
section{border-top:2px solid #ddd;margin-top:2em;padding-top:0.5em}
img{max-width:100%;height:auto;display:block;margin:0.5em 0}
"""


def write_duel_report(duels, summary: dict, path: str | os.PathLike, *, progress: bool = True) -> Path:
    """Write the report.

    Args:
        duels: ``(folders.ImageSet of (a, b, reference) paths, engine.panda.duel.Duel)`` per image.
        summary: ``engine.panda.duel.folder_summary`` of the duels.
        path: Destination ``.html`` file.
        progress: Show a progress bar on stderr while the pictures are drawn.

    Returns:
        The written path.
    """
    left, right = summary['names']
    title = f'PANDA duel: {left} against {right}'
    won, higher, regions = summary['images_won'], summary['higher_score'], summary['regions_won']
    rows = []
    for key, name in (('a', left), ('b', right)):
        most = ', '.join(f'{d} {100 * s:.0f}%' for d, s in list(summary[f'distortions_{key}'].items())[:3])
        rows.append((_e(name), f'{summary["mean_score"][key]:.4f}', won[key], higher[key], regions[key],
                     _e(most or 'nothing visible')))
    parts = [f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>',
             f'<style>{_STYLE}</style></head><body><h1>{_e(title)}</h1>',
             f'<p>{summary["images"]} images, both scored in reference mode on the same regions (1 = identical '
             'to the reference). An image or a region is won by a score difference of 0.1 or more (the '
             f'relation thresholds); ties: {won["tie"]} images, {regions["tie"]} of {regions["total"]} regions.</p>',
             '<h2>Summary</h2>' + _table(('method', 'mean score', 'images won', 'higher score', 'regions won',
                                          'distortions left most (mean share of the image)'), rows, text=(0, 5)),
             '<h2>Images</h2>' + _table(
                 ('image', f'{left} score', f'{right} score', 'verdict', f'{left} better (area)',
                  f'{right} better (area)', 'tie (area)'),
                 [(f'<a href="#{_anchor(images.name)}">{_e(images.name)}</a>', f'{match.score_a:.4f}',
                   f'{match.score_b:.4f}', _e(_verdict(match)),
                   *(f'{100 * match.summary()[key]["area"]:.0f}%' for key in ('a_better', 'b_better', 'tie')))
                  for images, match in duels], text=(0, 3))]
    for images, match in tqdm(duels, desc='report', unit='image', disable=not progress):
        picture = _data_uri(render_duel(match, *images.paths), 'PNG', 1300)
        parts.append(f'<section id="{_anchor(images.name)}"><h2>{_e(images.name)}: {_e(_verdict(match))}</h2>'
                     f'<p>{_e(left)} {_e(images.paths[0])}<br>{_e(right)} {_e(images.paths[1])}<br>'
                     f'reference {_e(images.paths[2])}</p>'
                     f'<img alt="duel of {_e(images.name)}" src="{picture}"></section>')
    parts.append('</body></html>')
    return write_atomic(path, '\n'.join(parts), 'HTML report')


def _verdict(match) -> str:
    left, right = match.names
    return 'same quality' if match.relation == 'same' else f'{left} {match.relation.replace("_", " ")}'


def _table(head, rows, text=(0,)) -> str:
    """A table; the columns of ``text`` are aligned left, the numbers right."""
    left = [' class=l' if i in text else '' for i in range(len(head))]
    cells = ''.join(f'<th{left[i]}>{_e(h)}</th>' for i, h in enumerate(head))
    body = ''.join('<tr>' + ''.join(f'<td{left[i]}>{c}</td>' for i, c in enumerate(row)) + '</tr>' for row in rows)
    return f'<table><tr>{cells}</tr>{body}</table>'
