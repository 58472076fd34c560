"""The HTML report of a folder comparison: one self-contained file (pictures inlined as
base64), per image its score, graph picture, quality map and worst regions, and the worst
regions across the folder."""
from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path

import numpy as np
from tqdm import tqdm

from panda_plugin.adapters.pictures.graph import render_graph, score_map_picture
from panda_plugin.adapters.score_tables import score_rows, worst_regions

_STYLE = """
body{font-family:sans-serif;margin:2em;color:#222;max-width:1100px}
table{border-collapse:collapse;margin:0.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f2f2f2}td.l,th.l{text-align:left}
section{border-top:2px solid #ddd;margin-top:2em;padding-top:0.5em}
img{max-width:100%;height:auto;display:block;margin:0.5em 0}
.pictures{display:flex;gap:1em;align-items:flex-start}.map{max-width:260px}
"""
_REGION_HEAD = ('image', 'region', 'bbox x,y,w,h', 'area', 'score', 'distortion', 'severity', 'relation')


def write_report(results, path: str | os.PathLike, *, title: str = 'PANDA report', worst: int = 20,
                 per_image: int = 5, picture_width: int = 1000, progress: bool = True) -> Path:
    """Write the report.

    Args:
        results: ``folder_compare.PairResult`` items (restored = anchor, reference = target).
        path: Destination ``.html`` file.
        title: Page title.
        worst: Rows of the worst-regions table across all images. Default: 20.
        per_image: Rows of each image's worst-regions table. Default: 5.
        picture_width: Width, in pixels, the graph pictures are reduced to. Default: 1000.
        progress: Show a progress bar on stderr.

    Returns:
        The written path.
    """
    results = list(results)
    rows = score_rows(results)
    scores = [float(row['score']) for row in rows]
    parts = [f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>',
             f'<style>{_STYLE}</style></head><body><h1>{_e(title)}</h1>']
    if results:
        mode = results[0].graph.metadata.get('mode', 'pairwise')
        parts.append(f'<p>{len(results)} images, {mode} mode; mean score {np.mean(scores):.4f}, lowest '
                     f'{min(scores):.4f} (1 = identical to the reference; docs/calibration.md says what '
                     '0.9, 0.8 and 0.6 mean).</p>')
    parts.append('<h2>Images, lowest score first</h2>' + _table(
        ('image', 'score', 'relation', 'regions', 'lowest region', 'main distortion'),
        [(f'<a href="#{_anchor(row["name"])}">{_e(row["name"])}</a>', row['score'], row['relation'],
          row['regions'], row['lowest_region_score'], row['main_distortion'])
         for row in sorted(rows, key=lambda row: float(row['score']))]))
    parts.append(f'<h2>Worst regions across all images</h2>{_regions_table(worst_regions(results, worst))}')
    for result, row in tqdm(list(zip(results, rows)), desc='report', unit='image', disable=not progress):
        picture = render_graph(result.graph, result.restored, result.reference)
        parts.append(
            f'<section id="{_anchor(result.name)}"><h2>{_e(result.name)}: {row["score"]}</h2>'
            f'<p>restored {_e(str(result.restored))}<br>reference {_e(str(result.reference))}<br>'
            f'relation to the reference: {_e(row["relation"])}; main distortion: '
            f'{_e(row["main_distortion"])}</p><div class="pictures">'
            f'<img alt="distortion graph of {_e(result.name)}" src="{_data_uri(picture, "JPEG", picture_width)}">'
            f'<img class="map" alt="quality map of {_e(result.name)}" '
            f'src="{_data_uri(score_map_picture(result.graph), "PNG", 256)}"></div>'
            f'{_regions_table(worst_regions([result], per_image))}</section>')
    parts.append('</body></html>')
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('\n'.join(parts), encoding='utf-8')
    return path


def _regions_table(rows: list[dict]) -> str:
    return _table(_REGION_HEAD, [(_e(r['name']), r['region'], r['bbox'], f'{100 * r["area"]:.1f}%',
                                  f'{r["score"]:.3f}', r['distortion'], r['severity'], r['relation'])
                                 for r in rows])


def _table(head, rows) -> str:
    cells = ''.join(f'<th{" class=l" if i == 0 else ""}>{_e(h)}</th>' for i, h in enumerate(head))
    body = ''.join('<tr>' + ''.join(f'<td{" class=l" if i == 0 else ""}>{c}</td>' for i, c in enumerate(row))
                   + '</tr>' for row in rows)
    return f'<table><tr>{cells}</tr>{body}</table>'


def _data_uri(picture: np.ndarray, kind: str, width: int) -> str:
    from PIL import Image

    image = Image.fromarray(picture)
    if image.width > width:
        image = image.resize((width, max(1, round(image.height * width / image.width))), Image.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format=kind, **({'quality': 88} if kind == 'JPEG' else {'optimize': True}))
    mime = 'image/jpeg' if kind == 'JPEG' else 'image/png'
    return f'data:{mime};base64,{base64.b64encode(buffer.getvalue()).decode("ascii")}'


def _anchor(name: str) -> str:
    return 'image-' + ''.join(c if c.isalnum() or c in '-_' else '_' for c in name)


def _e(text) -> str:
    return html.escape(str(text), quote=True)
