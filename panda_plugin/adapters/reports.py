"""The HTML report of a folder comparison: one self-contained file (pictures inlined as
base64, no script) that fits a 1280-px window. The images table (PANDA score, the whole-image
texture score when the graphs carry one, and PSNR, SSIM and MS-SSIM when pyiqa is installed), the worst regions across the folder, and per image its
picture (restored | reference | score map in reference mode), a colour bar and its worst
regions. Sort links reorder the table and the sections together, in CSS alone."""
from __future__ import annotations

import base64
import html
import importlib.util
import io
import os
from pathlib import Path

import numpy as np
from tqdm import tqdm

from panda_plugin.adapters.pictures.graph import reference_picture, render_graph, score_map_picture
from panda_plugin.adapters.score_tables import REGION_NUMBERS, score_rows, worst_regions
from panda_plugin.core.atomic import write_atomic

#: Classic full-reference measures of the images table: pyiqa metric name -> column title.
#: pyiqa's defaults: PSNR on RGB, SSIM and MS-SSIM on the luma.
CLASSIC_MEASURES = {'psnr': 'PSNR (dB)', 'ssim': 'SSIM', 'ms_ssim': 'MS-SSIM'}
#: Shortest side MS-SSIM accepts: its 11-px window at the fifth scale (1/16).
MS_SSIM_MIN_SIDE = 11 * 16

_STYLE = """
body{font-family:sans-serif;margin:1em auto;padding:0 1em;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:0.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f2f2f2}td.l,th.l{text-align:left}
section{border-top:2px solid #ddd;margin-top:1.5em;padding-top:0.5em}
p.paths{overflow-wrap:anywhere}
img{max-width:100%;height:auto;display:block;margin:0.5em 0}
.pictures{display:flex;gap:1em;align-items:flex-start}.pictures img{min-width:0}.map{max-width:260px}
.colourbar{display:flex;align-items:center;gap:0.5em;font-size:0.85em;margin:0.2em 0 1em}
.colourbar .ramp{width:320px;height:12px;border:1px solid #999}
.order{position:absolute;opacity:0;pointer-events:none}
nav.sort label{color:#06c;text-decoration:underline;cursor:pointer;margin:0 0.4em}
table.images{display:grid;justify-content:start;border-left:1px solid #ccc;border-top:1px solid #ccc}
table.images td,table.images th{border-width:0 1px 1px 0}
table.images thead,table.images tbody,table.images tr{display:contents}
table.images th{order:-1}table.images td{order:var(--k)}
.sections{display:flex;flex-direction:column}.sections section{order:var(--k)}
"""
_REGION_HEAD = ('image', 'region', 'bbox x,y,w,h', 'area', *REGION_NUMBERS, 'distortion', 'severity', 'relation')


def write_report(results, path: str | os.PathLike, *, title: str = 'PANDA report', worst: int = 20,
                 per_image: int = 5, picture_width: int = 1200, progress: bool = True) -> Path:
    """Write the report.

    Args:
        results: ``folder_compare.PairResult`` items (restored = anchor, reference = target).
        path: Destination ``.html`` file.
        title: Page title.
        worst: Rows of the worst-regions table across all images. Default: 20.
        per_image: Rows of each image's worst-regions table, and the most rows one image
            gives the table across images. Default: 5.
        picture_width: Width, in pixels, the pictures are reduced to. Default: 1200.
        progress: Show a progress bar on stderr.

    Returns:
        The written path.
    """
    results = sorted(results, key=lambda result: result.graph.anchor_score)  # the default order, also without CSS
    rows = {row['name']: row for row in score_rows(results)}
    classic = classic_scores(results, progress=progress)
    measures = list(CLASSIC_MEASURES) if any(classic.values()) else []
    textured = bool(results) and all(rows[r.name]['texture'] for r in results)
    keys = {'score': ('PANDA score', lambda r: float(rows[r.name]['score']))}
    if textured:
        keys['texture'] = ('texture', lambda r: float(rows[r.name]['texture']))
    keys['name'] = ('name', lambda r: r.name)
    keys.update({m: (CLASSIC_MEASURES[m], lambda r, m=m: classic[r.name].get(m, np.inf)) for m in measures
                 if any(m in values for values in classic.values())})
    ranks = {key: {r.name: rank for rank, r in enumerate(sorted(results, key=lambda r, f=f: (f(r), r.name)))}
             for key, (_, f) in keys.items()}
    parts = [f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f'<style>{_STYLE}{_order_style(keys)}</style></head><body><h1>{_e(title)}</h1>']
    if results:
        mode = results[0].graph.metadata.get('mode', 'pairwise')
        scores = [float(row['score']) for row in rows.values()]
        parts.append(f'<p>{len(results)} images, {mode} mode; mean PANDA score {np.mean(scores):.4f}, lowest '
                     f'{min(scores):.4f} (1 = identical to the reference; docs/calibration.md says what '
                     f'0.9, 0.8 and 0.6 mean). {_classic_note(classic, measures)}</p>')
    parts += [f'<input type="radio" class="order" name="order" id="order-{key}"{" checked" if key == "score" else ""}'
              f' aria-label="order by {_e(label)}">' for key, (label, _) in keys.items()]
    parts.append('<div class="ordered"><nav class="sort">Order (table and sections): '
                 + ''.join(f'<label for="order-{key}">{_e(label)}</label>' for key, (label, _) in keys.items())
                 + ' (lowest first)</nav>')
    head = ('image', 'PANDA score', *(['texture'] if textured else []), *(CLASSIC_MEASURES[m] for m in measures),
            'relation', 'regions', 'lowest region', 'main distortion')
    table_rows = []
    for result in results:
        row = rows[result.name]
        cells = (f'<a href="#{_anchor(result.name)}">{_e(result.name)}</a>', row['score'],
                 *([row['texture']] if textured else []),
                 *(_classic_cell(classic[result.name], m) for m in measures), row['relation'], row['regions'],
                 row['lowest_region_score'], row['main_distortion'])
        table_rows.append((_order_vars(ranks, result.name), cells))
    parts.append(f'<h2>Images</h2><table class="images" style="grid-template-columns:repeat({len(head)},auto)">'
                 f'<thead><tr>{_row(head, "th")}</tr></thead><tbody>'
                 + ''.join(f'<tr style="{style}">{_row(cells)}</tr>' for style, cells in table_rows)
                 + '</tbody></table>')
    parts.append(f'<h2>Worst regions across all images</h2><p>{per_image} at most from one image.</p>'
                 f'{_regions_table(worst_regions(results, worst, most_per_image=per_image), links=True)}')
    parts.append('<div class="sections">')
    for result in tqdm(results, desc='report', unit='image', disable=not progress):
        row = rows[result.name]
        parts.append(
            f'<section id="{_anchor(result.name)}" style="{_order_vars(ranks, result.name)}">'
            f'<h2>{_e(result.name)}: {row["score"]}</h2>'
            f'<p class="paths">restored {_e(str(result.restored))}<br>reference {_e(str(result.reference))}<br>'
            f'relation to the reference: {_e(row["relation"])}; main distortion: '
            f'{_e(row["main_distortion"])}</p>{_pictures(result, picture_width)}{_COLOUR_BAR}'
            f'{_regions_table(worst_regions([result], per_image))}</section>')
    parts.append('</div></div></body></html>')
    return write_atomic(path, '\n'.join(parts), 'HTML report')


def classic_scores(results, progress: bool = False) -> dict[str, dict[str, float]]:
    """PSNR, SSIM and MS-SSIM of each restored image against its reference, by pyiqa.

    Args:
        results: ``folder_compare.PairResult`` items.
        progress: Show a progress bar on stderr.

    Returns:
        ``{name: {measure: value}}`` with the keys of ``CLASSIC_MEASURES`` (MS-SSIM only for
        images of at least ``MS_SSIM_MIN_SIDE`` px a side); empty dicts when pyiqa is not
        installed.
    """
    if importlib.util.find_spec('pyiqa') is None:
        return {result.name: {} for result in results}
    import pyiqa
    import torch

    from panda_plugin.engine.image_io import load_image

    metrics = {name: pyiqa.create_metric(name, device='cpu') for name in CLASSIC_MEASURES}
    scores = {}
    for result in tqdm(results, desc='PSNR, SSIM, MS-SSIM', unit='image', disable=not progress):
        pair = [torch.from_numpy(load_image(image, convert=True)).permute(2, 0, 1)[None].float() / 255
                for image in (result.restored, result.reference)]
        wanted = [m for m in metrics if m != 'ms_ssim' or min(pair[0].shape[2:]) >= MS_SSIM_MIN_SIDE]
        with torch.no_grad():
            scores[result.name] = {m: float(metrics[m](*pair)) for m in wanted}
    return scores


def _classic_note(classic: dict, measures: list[str]) -> str:
    if not classic or not any(classic.values()):
        return '<code>pip install pyiqa</code> adds PSNR, SSIM and MS-SSIM columns.'
    means = ', '.join(f'{CLASSIC_MEASURES[m]} {np.mean([v[m] for v in classic.values() if m in v]):.4g}'
                      for m in measures if any(m in values for values in classic.values()))
    note = f'Means of pyiqa\'s measures: {means} (PSNR on RGB, SSIM and MS-SSIM on the luma).'
    if any('ms_ssim' not in values for values in classic.values()):
        note += f' MS-SSIM needs images of at least {MS_SSIM_MIN_SIDE} px a side; smaller ones show a dash.'
    return note


def _classic_cell(values: dict, measure: str) -> str:
    if measure not in values:
        return '&ndash;'
    return f'{values[measure]:.2f}' if measure == 'psnr' else f'{values[measure]:.4f}'


def _order_style(keys: dict) -> str:
    rules = ['.ordered tr,.ordered section{--k:var(--score)}']
    for key in keys:
        rules.append(f'#order-{key}:checked~.ordered tr,#order-{key}:checked~.ordered section{{--k:var(--{key})}}'
                     f'#order-{key}:checked~.ordered label[for=order-{key}]{{color:#222;text-decoration:none;'
                     'font-weight:bold}')
        rules.append(f'#order-{key}:focus-visible~.ordered label[for=order-{key}]{{outline:2px solid #06c}}')
    return ''.join(rules)


def _order_vars(ranks: dict, name: str) -> str:
    return ';'.join(f'--{key}:{positions[name]}' for key, positions in ranks.items())


def _pictures(result, width: int) -> str:
    name = _e(result.name)
    if result.graph.metadata.get('mode') == 'reference':
        picture = reference_picture(result.graph, result.restored, result.reference, colour_bar=False,
                                    title=f'{result.name}: restored vs reference, PANDA score '
                                          f'{result.graph.anchor_score:.4f}')
        return f'<img alt="restored, reference and score map of {name}" src="{_data_uri(picture, "JPEG", width)}">'
    picture = render_graph(result.graph, result.restored, result.reference)
    return (f'<div class="pictures"><img alt="distortion graph of {name}" src="{_data_uri(picture, "JPEG", width)}">'
            f'<img class="map" alt="quality map of {name}" '
            f'src="{_data_uri(score_map_picture(result.graph), "PNG", 256)}"></div>')


def _colour_bar() -> str:
    from matplotlib import colormaps

    stops = ','.join('#{:02x}{:02x}{:02x}'.format(*(round(255 * c) for c in colormaps['RdYlGn'](v)[:3]))
                     for v in np.linspace(0, 1, 11))
    return (f'<div class="colourbar" role="img" aria-label="colour bar: region score from 0 (red) to 1 (green)">'
            f'<span>0</span><div class="ramp" style="background:linear-gradient(to right,{stops})"></div>'
            '<span>1</span><span>region score (0 = worst, 1 = identical to the reference)</span></div>')


_COLOUR_BAR = _colour_bar()


def _regions_table(rows: list[dict], links: bool = False) -> str:
    body = []
    for r in rows:
        name = f'<a href="#{_anchor(r["name"])}">{_e(r["name"])}</a>' if links else _e(r['name'])
        numbers = [f'{r[n]:.3f}' if n in r else '&ndash;' for n in REGION_NUMBERS]
        body.append(_row((name, r['region'], r['bbox'], f'{100 * r["area"]:.1f}%', *numbers, r['distortion'],
                          r['severity'], r['relation'])))
    return f'<table><tr>{_row(_REGION_HEAD, "th")}</tr>{"".join(f"<tr>{b}</tr>" for b in body)}</table>'


def _row(cells, tag: str = 'td') -> str:
    escaped = cells if tag == 'td' else [_e(c) for c in cells]
    return ''.join(f'<{tag}{" class=l" if i == 0 else ""}>{c}</{tag}>' for i, c in enumerate(escaped))


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
