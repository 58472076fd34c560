"""Pictures of distortion graphs: both images side by side, regions tinted by score and
labelled with distortion and relation. ``render_graph`` gives an array, ``save_graph_picture``
a PNG file (``DistortionGraph.render``). ``reference_picture`` draws a reference-mode graph as
restored | reference | score map (TensorBoard and the HTML report use it)."""
from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import numpy as np

from panda_plugin.core.atomic import atomic_path
from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.graph import DistortionGraph
from panda_plugin.core.region_labels import SIDES, Region
from panda_plugin.core.taxonomy import DISTORTIONS

_GLYPHS = {
    'same': '=', 'slightly_worse': '<', 'significantly_worse': '<<',
    'slightly_better': '>', 'significantly_better': '>>'}
_ABBREVIATIONS = {
    'clean': 'clean', 'snow': 'snow', 'contrast_inc': 'con+', 'compression': 'comp',
    'brightness': 'brt+', 'oversharpen': 'shrp', 'noise': 'noise', 'blur': 'blur',
    'haze': 'haze', 'rain': 'rain', 'saturate_inc': 'sat+', 'saturate_dec': 'sat-',
    'contrast_dec': 'con-', 'darken': 'dark', 'pixelate': 'pix'}
#: Longest side, in pixels, of one image panel drawn by :meth:`DistortionGraph.render`; the
#: label map and images are resampled to it (area averaging down, nearest neighbour up).
_PANEL_PIXELS = 720
#: Resolution of the rendered figure.
_DPI = 100


def render_graph(graph: DistortionGraph, anchor_image=None, target_image=None) -> np.ndarray:
    """Draw the graph over the two images as an RGB picture.

    Each region is outlined and tinted by its score (red = 0, green = 1) and labelled with
    its id and distortion; the anchor labels add the texture score (``t``, when the graph has
    one) and the relation glyph; panel titles give the whole-image score and texture. The heading
    names the mode; in reference mode the panels are titled restored and reference.

    Args:
        graph: The graph.
        anchor_image: Anchor image (path, PIL image or HxWx3 array) of ``image_size``.
            Default: a grey canvas.
        target_image: Target image, likewise.

    Returns:
        HxWx3 uint8 RGB picture.
    """
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    height, width = graph.image_size
    scale = _PANEL_PIXELS / max(height, width)
    view_h, view_w = max(1, round(height * scale)), max(1, round(width * scale))
    rows = np.minimum(((np.arange(view_h) + 0.5) / scale).astype(int), height - 1)
    cols = np.minimum(((np.arange(view_w) + 0.5) / scale).astype(int), width - 1)
    view = graph.label_map[np.ix_(rows, cols)]
    cmap, norm = colormaps['RdYlGn'], Normalize(0.0, 1.0)

    panel_w, panel_h = view_w / _DPI, view_h / _DPI
    fig_w = max(2 * panel_w + 0.5, 9.0)
    present = sorted({getattr(r, s).distortion for r in graph.regions for s in SIDES},
                     key=DISTORTIONS.index)
    abbreviated = [f'{_ABBREVIATIONS[n]} = {n}' for n in present if _ABBREVIATIONS[n] != n]
    textured = graph.anchor_texture is not None
    names = ('restored image', 'reference') if graph.metadata.get('mode') == 'reference' else ('anchor', 'target')
    key = _wrapped([f'Labels: region id, distortion{", texture score (t)" if textured else ""}; '
                    f'on the {names[0]}, {names[0]} vs {names[1]}: ']
                   + [f'{g}  {name.replace("_", " ")}' for name, g in _GLYPHS.items()],
                   '    ', fig_w)
    if abbreviated:
        key += _wrapped(['Abbreviations:'] + abbreviated, '   ', fig_w)
    key_lines = len(key)
    top, bottom = 0.8, 0.8 + 0.2 * key_lines
    fig_h = top + panel_h + bottom
    fig = Figure(figsize=(fig_w, fig_h), dpi=_DPI)
    FigureCanvasAgg(fig)
    mode = graph.metadata.get('mode', 'pairwise')
    heading = f'{mode.capitalize()} mode: ' + (
        f'the {names[0]} and the {names[1]} have the same quality' if graph.relation == 'same' else
        f'the {names[0]} is {graph.relation.replace("_", " ")} than the {names[1]}')
    fig.text(0.5, 1 - 0.12 / fig_h, f'{heading}  ({graph.anchor_score:.2f} vs '
             f'{graph.target_score:.2f})', ha='center', va='top', fontsize=13,
             fontweight='bold')
    points = [(x, y) for x, y, _ in _interior_points(view, graph.regions, scale)]
    for column, (side, image) in enumerate(zip(SIDES, (anchor_image, target_image))):
        left = fig_w / 2 - panel_w - 0.1 + column * (panel_w + 0.2)
        ax = fig.add_axes((left / fig_w, bottom / fig_h, panel_w / fig_w, panel_h / fig_h))
        ax.imshow(_panel_image(image, side, (height, width), (view_w, view_h)))
        _draw_regions(graph, ax, side, view, points, cmap, norm, filled=image is not None)

    bar_w = min(fig_w - 1.0, 5.0)
    bar = fig.add_axes(((fig_w - bar_w) / 2 / fig_w, (bottom - 0.42) / fig_h, bar_w / fig_w,
                        0.13 / fig_h))
    fig.colorbar(ScalarMappable(norm, cmap), cax=bar, orientation='horizontal')
    bar.tick_params(labelsize=8, length=2, pad=1.5)
    bar.set_title('region quality score (0 = worst, 1 = perfect)', fontsize=9, pad=3)
    fig.text(0.5, (bottom - 0.65) / fig_h, '\n'.join(key), ha='center', va='top',
             fontsize=9, linespacing=1.6)
    fig.canvas.draw()
    return np.array(fig.canvas.buffer_rgba())[:, :, :3]


def side_titles(graph: DistortionGraph) -> tuple[str, str]:
    """Panel titles of the two images: Restored and Reference in reference mode, else Anchor and Target."""
    return ('Restored', 'Reference') if graph.metadata.get('mode') == 'reference' else ('Anchor', 'Target')


def save_graph_picture(graph: DistortionGraph, path: str | os.PathLike, anchor_image=None,
                       target_image=None) -> Path:
    """Write ``render_graph``'s picture as a PNG; over images, with a dithered 96-colour palette
    to keep the file small.

    Args:
        graph: The graph.
        path: Destination PNG path.
        anchor_image: Anchor image (path, PIL image or HxWx3 array). Default: a grey canvas.
        target_image: Target image, likewise.

    Returns:
        The written path.
    """
    from PIL import Image

    picture = Image.fromarray(render_graph(graph, anchor_image, target_image))
    if anchor_image is not None or target_image is not None:
        picture = picture.quantize(palette=_palette(picture), dither=Image.Dither.FLOYDSTEINBERG)
    with atomic_path(path, 'picture') as temporary:
        picture.save(temporary, format='PNG', optimize=True)
    return Path(path)


def _draw_regions(graph: DistortionGraph, ax, side: str, view: np.ndarray, points: list, cmap, norm,
                  filled: bool) -> None:
    scores = [getattr(r, side).score for r in graph.regions]
    ax.imshow(_score_overlay(view, scores, cmap, norm, 0.22 if filled else 0.7),
              interpolation='nearest')
    texture = graph.aggregate_texture(side)
    texture = '' if texture is None else f', texture {texture:.2f}'
    ax.set_title(f'{side_titles(graph)[SIDES.index(side)]}  \u2013  image score {graph.aggregate_score(side):.2f}{texture}',
                 fontsize=11.5, pad=5)
    ax.set_axis_off()
    view_h, view_w = view.shape
    font = 8.5 if len(graph) <= 25 else 7.0
    font_px = font * _DPI / 72
    for region, (x, y) in zip(graph.regions, points):
        label = getattr(region, side)
        text = f'{region.id} {_ABBREVIATIONS[label.distortion]}'
        if label.texture is not None and side == 'anchor':
            text += f' t{label.texture:.2f}'
        if side == 'anchor':
            text += f' {_GLYPHS[region.relation]}'
        half_w, half_h = (0.31 * len(text) + 0.4) * font_px, 0.8 * font_px
        ha, va = 'center', 'center'
        if x - half_w < 0:
            x, ha = 1, 'left'
        elif x + half_w > view_w:
            x, ha = view_w - 2, 'right'
        if y - half_h < 0:
            y, va = 1, 'top'
        elif y + half_h > view_h:
            y, va = view_h - 2, 'bottom'
        ax.text(x, y, text, fontsize=font, ha=ha, va=va, color='black',
                bbox={'boxstyle': 'round,pad=0.2', 'facecolor': 'white', 'alpha': 0.85,
                      'linewidth': 1.2, 'edgecolor': cmap(norm(label.score))})


def _interior_points(view: np.ndarray, regions: list[Region],
                     scale: float) -> list[tuple[float, float, float]]:
    """Per region, the (x, y) of the view pixel deepest inside it and its distance to the edge
    (0 for a region too small to appear in the view)."""
    from scipy import ndimage

    points = []
    for region, box in zip(regions, ndimage.find_objects(view + 1, max_label=len(regions))):
        if box is None:
            x, y, w, h = region.bbox
            points.append(((x + w / 2) * scale - 0.5, (y + h / 2) * scale - 0.5, 0.0))
            continue
        inside = np.pad(view[box] == region.id, 1)
        distance = ndimage.distance_transform_edt(inside)
        row, col = np.unravel_index(int(np.argmax(distance)), distance.shape)
        points.append((box[1].start + col - 1, box[0].start + row - 1, float(distance[row, col])))
    return points


def _panel_image(image, side: str, size: tuple[int, int],
                 view_size: tuple[int, int]) -> np.ndarray:
    if image is None:
        return np.full(view_size[::-1] + (3,), 205, np.uint8)
    import cv2

    from panda_plugin.engine.image_io import load_image

    array = load_image(image, convert=True, name=f'{side}_image')
    if array.shape[:2] != size:
        raise PandaInputError(f'{side}_image is {array.shape[1]}x{array.shape[0]} (w x h); '
                              f'the graph is {size[1]}x{size[0]}')
    shrink = view_size[0] < size[1]
    method = cv2.INTER_AREA if shrink else cv2.INTER_NEAREST
    return cv2.resize(array, view_size, interpolation=method)


def _score_overlay(view: np.ndarray, scores: list[float], cmap, norm, filled: float) -> np.ndarray:
    from scipy import ndimage
    from skimage.segmentation import find_boundaries

    colours = np.zeros((len(scores) + 1, 4))
    colours[1:] = cmap(norm(np.asarray(scores)))
    overlay = colours[view + 1]
    overlay[..., 3] *= filled
    edges = find_boundaries(view, mode='inner') & (view >= 0)
    rim = ndimage.binary_dilation(edges) & ~edges & (view >= 0)
    rim = rim | (ndimage.binary_dilation(rim) & ~edges & (view >= 0))
    overlay[rim] = colours[view[rim] + 1]
    overlay[edges] = (1.0, 1.0, 1.0, 0.95)
    return overlay


def _palette(picture):
    from PIL import Image

    palette = picture.quantize(96, method=Image.Quantize.FASTOCTREE)
    colours = np.asarray(palette.getpalette()[:768], dtype=np.int64).reshape(-1, 3)
    for pure in ((255, 255, 255), (0, 0, 0)):
        nearest = int(np.argmin(np.abs(colours - pure).sum(1)))
        colours[nearest] = pure
    palette.putpalette(colours.astype(np.uint8).ravel().tolist())
    return palette


def _wrapped(items: list[str], separator: str, width_inches: float) -> list[str]:
    width = int((width_inches - 0.4) * 14)
    lines = [items[0]]
    for item in items[1:]:
        if len(lines[-1]) + len(separator) + len(item) > width:
            lines.append(item)
        else:
            lines[-1] += separator + item
    return lines


def score_map_picture(graph: DistortionGraph, side: str = 'anchor') -> np.ndarray:
    """The spatial quality map of a graph: each pixel coloured by its region's score (red = 0,
    yellow = 0.5, green = 1, the colours of ``render_graph``), region borders in white.

    Args:
        graph: The graph.
        side: ``'anchor'`` (the restored image in reference mode) or ``'target'``.

    Returns:
        HxWx3 uint8 RGB picture of the graph's image size.
    """
    from matplotlib import colormaps
    from skimage.segmentation import find_boundaries

    label_map = graph.label_map
    scores = np.ones(len(graph) + 1)
    scores[1:] = [getattr(region, side).score for region in graph.regions]
    values = scores[label_map + 1]
    picture = (colormaps['RdYlGn'](values)[..., :3] * 255).round().astype(np.uint8)
    picture[find_boundaries(label_map, mode='inner') & (label_map >= 0)] = 255
    return picture


def save_score_map(graph: DistortionGraph, path: str | os.PathLike, side: str = 'anchor') -> Path:
    """Write ``score_map_picture`` as a PNG.

    Args:
        graph: The graph.
        path: Destination PNG path.
        side: ``'anchor'`` or ``'target'``.

    Returns:
        The written path.
    """
    from PIL import Image

    with atomic_path(path, 'quality map') as temporary:
        Image.fromarray(score_map_picture(graph, side)).save(temporary, format='PNG', optimize=True)
    return Path(path)


#: Longest side, in pixels, of one panel of ``reference_picture``: smaller images are enlarged
#: by a whole factor (nearest neighbour, so their pixels stay sharp squares) up to it, larger
#: ones reduced to it (area averaging).
MONITOR_PANEL = 384
_GAP, _TITLE, _CAPTION, _BAR = 8, 26, 20, 34


def reference_picture(graph: DistortionGraph, restored, reference, *, title: str | None = None,
                      colour_bar: bool = True) -> np.ndarray:
    """Three panels for a reference-mode graph: the restored image with its region outlines
    coloured by score, the reference, and the score map with each region's score (and its
    distortion, when not clean and there is room) written on it.

    Args:
        graph: A reference-mode graph of ``restored`` (anchor) against ``reference`` (target).
        restored: Restored image (path, PIL image or HxWx3 uint8 array) of ``image_size``.
        reference: Reference image, likewise.
        title: Line above the panels. Default: the image score.
        colour_bar: Draw the score colour bar under the score map. Default: True.

    Returns:
        HxWx3 uint8 RGB picture.
    """
    import cv2
    from matplotlib import colormaps
    from PIL import Image, ImageDraw
    from skimage.segmentation import find_boundaries

    height, width = graph.image_size
    longest = max(height, width)
    scale = float(max(1, MONITOR_PANEL // longest)) if longest <= MONITOR_PANEL else MONITOR_PANEL / longest
    view_w, view_h = max(1, round(width * scale)), max(1, round(height * scale))
    rows = np.minimum(((np.arange(view_h) + 0.5) / scale).astype(int), height - 1)
    cols = np.minimum(((np.arange(view_w) + 0.5) / scale).astype(int), width - 1)
    view = graph.label_map[np.ix_(rows, cols)]
    cmap = colormaps['RdYlGn']
    scores = np.array([region.anchor.score for region in graph.regions])
    colours = np.zeros((len(scores) + 1, 3), np.uint8)
    colours[1:] = (cmap(scores)[:, :3] * 255).round()
    edges = find_boundaries(view, mode='inner') & (view >= 0)
    thick = cv2.dilate(edges.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & (view >= 0)

    shown = _panel_image(restored, 'restored', (height, width), (view_w, view_h)).copy()
    shown[thick] = colours[view[thick] + 1]
    plain = _panel_image(reference, 'reference', (height, width), (view_w, view_h)).copy()
    plain[edges] = (plain[edges] // 2 + 128).astype(np.uint8)
    score_map = colours[view + 1]
    score_map[edges] = 255

    canvas_w = 3 * view_w + 4 * _GAP
    canvas_h = _TITLE + _CAPTION + view_h + _GAP + (_BAR if colour_bar else 0)
    canvas = Image.new('RGB', (canvas_w, canvas_h), 'white')
    draw = ImageDraw.Draw(canvas)
    draw.text((_GAP, 5), title or f'restored vs reference: image score {graph.anchor_score:.3f}',
              fill='black', font=_font(15, bold=True))
    top = _TITLE + _CAPTION
    captions = ('restored', 'reference', 'score map (region scores)')
    lefts = [_GAP + column * (view_w + _GAP) for column in range(3)]
    for left, caption, panel in zip(lefts, captions, (shown, plain, score_map)):
        draw.text((left, _TITLE + 2), caption, fill='black', font=_font(13))
        canvas.paste(Image.fromarray(panel), (left, top))
    big, small = _font(12, bold=True), _font(10)
    for region, (x, y, depth) in zip(graph.regions, _interior_points(view, graph.regions, scale)):
        x, y = lefts[2] + min(max(x, 14), view_w - 14), top + min(max(y, 8), view_h - 8)
        label = region.anchor
        two_lines = label.distortion != 'clean' and depth >= 14
        draw.text((x, y - 6 if two_lines else y), f'{label.score:.2f}', fill='black', font=big, anchor='mm',
                  stroke_width=2, stroke_fill='white')
        if two_lines:
            draw.text((x, y + 7), _ABBREVIATIONS[label.distortion], fill='black', font=small, anchor='mm',
                      stroke_width=2, stroke_fill='white')
    if colour_bar:
        bar_top = top + view_h + 6
        ramp = (cmap(np.linspace(0, 1, view_w))[:, :3] * 255).round().astype(np.uint8)
        canvas.paste(Image.fromarray(np.repeat(ramp[None], 10, axis=0)), (lefts[2], bar_top))
        for value in (0, 0.25, 0.5, 0.75, 1):
            x = lefts[2] + round(value * (view_w - 1))
            draw.line((x, bar_top + 10, x, bar_top + 13), fill='black')
            draw.text((x, bar_top + 14), f'{value:g}', fill='black', font=small,
                      anchor='la' if value == 0 else 'ra' if value == 1 else 'ma')
        draw.text((lefts[1] + view_w, bar_top + 14), 'region score, 0 = worst, 1 = perfect ', fill='black',
                  font=small, anchor='ra')
    return np.asarray(canvas)


@cache
def _font(size: int, bold: bool = False):
    """Matplotlib's DejaVu Sans (installed with it) at ``size`` pixels."""
    from matplotlib import get_data_path
    from PIL import ImageFont

    name = 'DejaVuSans-Bold.ttf' if bold else 'DejaVuSans.ttf'
    return ImageFont.truetype(os.path.join(get_data_path(), 'fonts', 'ttf', name), size)
