"""The distortion graph: per-region labels of an anchor/target image pair and their relations.

A :class:`DistortionGraph` holds a label map (the shared regions) and, for every region, the
distortion type, severity and quality score (in [0, 1], 1 = perfect) of that region in the
anchor and in the target image, plus one relation per region pair, always written as the
anchor relative to the target. Construction validates the three structural properties of a
PANDA graph: *validity* (edges only join the matching anchor and target region of one label
map entry), *directionality* (relations read anchor -> target; :meth:`DistortionGraph.mirror`
inverts them) and *functional comparability* (exactly one relation per region pair).
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.masks import boxes_and_areas, region_count, rle_decode, rle_encode
from panda_plugin.core.taxonomy import (
    DISTORTIONS,
    RELATIONS,
    SEVERITIES,
    distortion_id,
    invert_relation,
    relation_from_scores,
    relation_id,
    relation_ids_from_scores,
    severity_id,
)

#: Value of the ``schema`` key of the JSON form.
SCHEMA = 'panda-dg/1'

_SIDES = ('anchor', 'target')
_LABEL_KEYS = ('distortion', 'severity', 'score')
_GRAPH_KEYS = ('schema', 'image_size', 'anchor', 'target', 'relation', 'regions', 'metadata')
_REGION_KEYS = ('id', 'bbox', 'area', 'anchor', 'target', 'relation', 'mask')
#: Tolerance when checking the derived whole-image fields of a JSON graph.
_AGGREGATE_TOLERANCE = 1e-6

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


@dataclass(frozen=True)
class RegionLabel:
    """Distortion label of one region in one image.

    Attributes:
        distortion: A name from ``taxonomy.DISTORTIONS``.
        severity: A name from ``taxonomy.SEVERITIES`` (``'clean'`` iff the distortion is).
        score: Quality score in [0, 1], 1 = perfect.
    """

    distortion: str
    severity: str
    score: float


@dataclass(frozen=True)
class Region:
    """One node pair of the graph: a region with its anchor and target labels.

    Attributes:
        id: Index of the region in the label map.
        bbox: Bounding box ``(x, y, w, h)`` of the region's mask.
        area: Number of pixels of the region.
        anchor: Label of the region in the anchor image.
        target: Label of the region in the target image.
        relation: A name from ``taxonomy.RELATIONS``: the anchor relative to the target.
    """

    id: int
    bbox: tuple[int, int, int, int]
    area: int
    anchor: RegionLabel
    target: RegionLabel
    relation: str


class DistortionGraph:
    """Panoptic pairwise distortion graph of an anchor/target image pair.

    Args:
        label_map: HxW integer array, values ``0..N-1`` for regions and ``-1`` for no region.
        regions: One :class:`Region` per label-map index, in any order.
        metadata: JSON-serialisable mapping stored with the graph. Default: empty.
    """

    __hash__ = None

    def __init__(self, label_map: np.ndarray, regions: Sequence[Region], *,
                 metadata: Mapping | None = None) -> None:
        self._label_map = _checked_label_map(label_map)
        self._metadata = _checked_metadata(metadata)
        self._regions = _checked_regions(self._label_map, regions)

    # -- constructors --------------------------------------------------------------------

    @classmethod
    def from_labels(cls, label_map: np.ndarray, anchor, target, relations=None,
                    metadata: Mapping | None = None) -> DistortionGraph:
        """Build a graph from a label map and per-region label arrays.

        Args:
            label_map: HxW integer label map with N regions (values ``-1..N-1``).
            anchor: Mapping or object with length-N ``distortion`` (names or ids),
                ``severity`` (names or ids) and ``score`` (floats in [0, 1]).
            target: Same for the target image.
            relations: Length-N relation names or ids, anchor relative to target. Default:
                derived from the score differences with the official thresholds.
            metadata: JSON-serialisable mapping stored with the graph.

        Returns:
            The validated graph.
        """
        label_map = _checked_label_map(label_map)
        count = region_count(label_map)
        labels = {side: _side_labels(side, value, count)
                  for side, value in zip(_SIDES, (anchor, target))}
        if relations is None:
            relation_ids = relation_ids_from_scores([label.score for label in labels['anchor']],
                                                    [label.score for label in labels['target']])
            relations = [RELATIONS[int(i)] for i in relation_ids]
        else:
            relations = [_named(f'region {i}', RELATIONS, relation_id, value)
                         for i, value in enumerate(_column('relations', relations, count))]
        boxes, areas = boxes_and_areas(label_map)
        regions = [Region(id=index, bbox=tuple(boxes[index]), area=areas[index],
                          anchor=labels['anchor'][index], target=labels['target'][index],
                          relation=relations[index]) for index in range(count)]
        return cls(label_map, regions, metadata=metadata)

    @classmethod
    def from_dict(cls, data: Mapping) -> DistortionGraph:
        """Build a graph from its dictionary form (see :meth:`to_dict`).

        Args:
            data: Mapping with the ``panda-dg/1`` schema.

        Returns:
            The validated graph.
        """
        if not isinstance(data, Mapping):
            raise PandaInputError('a distortion graph must be a JSON object, got '
                                  f'{type(data).__name__}')
        if data.get('schema') != SCHEMA:
            raise PandaInputError(
                f'schema {data.get("schema")!r} is not supported; accepted: {SCHEMA!r}')
        _require_keys(data, _GRAPH_KEYS, 'the graph')
        size = data['image_size']
        if (not isinstance(size, Sequence) or len(size) != 2
                or not all(_is_int(v) and v > 0 for v in size)):
            raise PandaInputError(f'image_size {size!r} must be [h, w], two positive integers')
        height, width = int(size[0]), int(size[1])
        records = data['regions']
        if not isinstance(records, Sequence) or isinstance(records, str) or not records:
            raise PandaInputError('regions must be a non-empty list of region objects')
        label_map = np.full((height, width), -1, np.int32)
        regions, seen = [], set()
        for position, record in enumerate(records):
            if not isinstance(record, Mapping):
                raise PandaInputError(f'regions[{position}] must be an object, got {record!r}')
            _require_keys(record, _REGION_KEYS, f'regions[{position}]')
            index = record['id']
            if not _is_int(index) or not 0 <= index < len(records):
                raise PandaInputError(f'regions[{position}]: id {index!r} is not a region index; '
                                      f'accepted: integers 0..{len(records) - 1}')
            if index in seen:
                raise PandaInputError(f'duplicate region id {index}; every id appears exactly once')
            seen.add(index)
            regions.append(_region_from_record(index, record))
            mask = rle_decode(record['mask'])
            if mask.shape != (height, width):
                raise PandaInputError(f'region {index}: mask size {list(mask.shape)} differs from '
                                      f'image_size {[height, width]}')
            if not mask.any():
                raise PandaInputError(f'region {index}: mask is empty; every region needs a pixel')
            taken = label_map[mask]
            if (taken >= 0).any():
                other = int(taken[taken >= 0][0])
                raise PandaInputError(f'region {index}: mask overlaps region {other} on '
                                      f'{int((taken >= 0).sum())} pixels; masks must be disjoint')
            label_map[mask] = index
        graph = cls(label_map, regions, metadata=data['metadata'])
        graph._check_aggregates(data)
        return graph

    @classmethod
    def from_json(cls, source: str | os.PathLike) -> DistortionGraph:
        """Read a graph from JSON text or from a ``.json`` file.

        Args:
            source: JSON text (starting with ``{``) or a path to a JSON file.

        Returns:
            The validated graph.
        """
        if isinstance(source, str) and source.lstrip().startswith('{'):
            text, origin = source, 'JSON text'
        elif isinstance(source, (str, os.PathLike)):
            path = Path(source)
            if not path.is_file():
                raise PandaInputError(f'{str(path)!r} is neither JSON text nor an existing file')
            text, origin = path.read_text(encoding='utf-8'), repr(str(path))
        else:
            raise PandaInputError(f'cannot read a graph from a {type(source).__name__}; '
                                  'accepted: JSON text or a path')
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise PandaInputError(f'{origin} is not valid JSON: {error}') from None
        return cls.from_dict(data)

    # -- accessors -----------------------------------------------------------------------

    @property
    def regions(self) -> list[Region]:
        """Regions ordered by id (= label-map index)."""
        return list(self._regions)

    @property
    def label_map(self) -> np.ndarray:
        """Read-only int32 HxW label map."""
        return self._label_map

    @property
    def metadata(self) -> dict:
        """Copy of the metadata mapping."""
        return json.loads(json.dumps(self._metadata))

    @property
    def image_size(self) -> tuple[int, int]:
        """Image size ``(h, w)``."""
        return self._label_map.shape

    def mask(self, region_id: int) -> np.ndarray:
        """Boolean HxW mask of one region.

        Args:
            region_id: Region index ``0..N-1``.

        Returns:
            HxW bool array.
        """
        if not _is_int(region_id) or not 0 <= region_id < len(self):
            raise PandaInputError(f'no region {region_id!r}; accepted: 0..{len(self) - 1}')
        return self._label_map == region_id

    @property
    def anchor_score(self) -> float:
        """Area-weighted mean of the anchor region scores."""
        return self._aggregate_score('anchor')

    @property
    def target_score(self) -> float:
        """Area-weighted mean of the target region scores."""
        return self._aggregate_score('target')

    @property
    def relation(self) -> str:
        """Whole-image relation of the anchor relative to the target (official thresholds)."""
        return relation_from_scores(self.anchor_score, self.target_score)

    def distortion_areas(self, side: str) -> dict[str, float]:
        """Fraction of the region area carrying each distortion.

        Args:
            side: ``'anchor'`` or ``'target'``.

        Returns:
            Distortion name -> area fraction, for the distortions present, in taxonomy order;
            the values sum to 1.
        """
        _check_side(side)
        totals = dict.fromkeys(DISTORTIONS, 0)
        for region in self._regions:
            totals[getattr(region, side).distortion] += region.area
        covered = sum(totals.values())
        return {name: area / covered for name, area in totals.items() if area}

    def __len__(self) -> int:
        return len(self._regions)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DistortionGraph):
            return NotImplemented
        return (self._label_map.shape == other._label_map.shape
                and np.array_equal(self._label_map, other._label_map)
                and self._regions == other._regions and self._metadata == other._metadata)

    def __repr__(self) -> str:
        height, width = self.image_size
        return (f'DistortionGraph({width}x{height}, {len(self)} regions, anchor '
                f'{self.anchor_score:.3f}, target {self.target_score:.3f}, {self.relation})')

    # -- transformations -----------------------------------------------------------------

    def mirror(self) -> DistortionGraph:
        """The same graph seen from the target: anchor and target swapped, relations inverted.

        Returns:
            A new graph; ``g.mirror().mirror() == g``.
        """
        regions = [replace(r, anchor=r.target, target=r.anchor,
                           relation=invert_relation(r.relation)) for r in self._regions]
        return DistortionGraph(self._label_map, regions, metadata=self._metadata)

    def validate(self) -> None:
        """Check every property of the graph again.

        Raises:
            PandaInputError: Naming the first offending region and value.
        """
        _checked_regions(_checked_label_map(self._label_map), self._regions)
        _checked_metadata(self._metadata)

    # -- serialisation -------------------------------------------------------------------

    def to_dict(self) -> dict:
        """Dictionary form with the ``panda-dg/1`` schema (masks as COCO compressed RLE).

        Returns:
            A JSON-serialisable dict.
        """
        return {
            'schema': SCHEMA,
            'image_size': list(self.image_size),
            **{side: {'score': self._aggregate_score(side),
                      'distortion_areas': self.distortion_areas(side)} for side in _SIDES},
            'relation': self.relation,
            'regions': [{
                'id': r.id, 'bbox': list(r.bbox), 'area': r.area,
                'anchor': _label_dict(r.anchor), 'target': _label_dict(r.target),
                'relation': r.relation, 'mask': rle_encode(self._label_map == r.id),
            } for r in self._regions],
            'metadata': self.metadata,
        }

    def to_json(self, path: str | os.PathLike | None = None, indent: int | None = None) -> str:
        """JSON text of :meth:`to_dict`; floats are written exactly.

        Args:
            path: If given, also write the text to this file.
            indent: Indentation passed to ``json.dumps``. Default: compact single line.

        Returns:
            The JSON text.
        """
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False)
        if path is not None:
            Path(path).write_text(text, encoding='utf-8')
        return text

    def to_prompt(self) -> str:
        """Compact plain-text description, one line per region, for use as model context.

        Returns:
            A header line (image size, region count, whole-image scores and relation) and one
            line per region; relations read anchor relative to target.
        """
        height, width = self.image_size
        header = (f'Distortion graph of an anchor/target image pair: {width}x{height} px '
                  f'(w x h), {len(self)} regions; whole image: anchor {self.anchor_score:.2f}, '
                  f'target {self.target_score:.2f} -> anchor {self.relation}. Scores in [0,1] '
                  '(1 = perfect); relations are the anchor relative to the target.')
        lines = [header]
        for r in self._regions:
            x, y, w, h = r.bbox
            share = 100 * r.area / (width * height)
            lines.append(f'R{r.id} [x={x} y={y} w={w} h={h}, {share:.1f}% '
                         f'of image] anchor: {_label_text(r.anchor)} | target: '
                         f'{_label_text(r.target)} -> anchor {r.relation}')
        return '\n'.join(lines)

    def render(self, path: str | os.PathLike, anchor_image=None, target_image=None) -> Path:
        """Draw the graph over the two images and write a PNG.

        Each region is outlined and tinted by its score (red = 0, green = 1) and labelled with
        its id and distortion; the anchor labels add the relation glyph. When images are
        drawn the PNG is stored with a dithered 96-colour palette to keep it small.

        Args:
            path: Destination PNG path.
            anchor_image: Anchor image (path, PIL image or HxWx3 array) of ``image_size``.
                Default: a grey canvas.
            target_image: Target image, likewise.

        Returns:
            The written path.
        """
        from matplotlib import colormaps
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize
        from matplotlib.figure import Figure
        from PIL import Image

        height, width = self.image_size
        scale = _PANEL_PIXELS / max(height, width)
        view_h, view_w = max(1, round(height * scale)), max(1, round(width * scale))
        rows = np.minimum(((np.arange(view_h) + 0.5) / scale).astype(int), height - 1)
        cols = np.minimum(((np.arange(view_w) + 0.5) / scale).astype(int), width - 1)
        view = self._label_map[np.ix_(rows, cols)]
        cmap, norm = colormaps['RdYlGn'], Normalize(0.0, 1.0)

        panel_w, panel_h = view_w / _DPI, view_h / _DPI
        fig_w = max(2 * panel_w + 0.5, 9.0)
        present = sorted({getattr(r, s).distortion for r in self._regions for s in _SIDES},
                         key=DISTORTIONS.index)
        abbreviated = [f'{_ABBREVIATIONS[n]} = {n}' for n in present if _ABBREVIATIONS[n] != n]
        key = _wrapped(['Labels: region id, distortion; on the anchor, anchor vs target: ']
                       + [f'{g}  {name.replace("_", " ")}' for name, g in _GLYPHS.items()],
                       '    ', fig_w)
        if abbreviated:
            key += _wrapped(['Abbreviations:'] + abbreviated, '   ', fig_w)
        key_lines = len(key)
        top, bottom = 0.8, 0.8 + 0.2 * key_lines
        fig_h = top + panel_h + bottom
        fig = Figure(figsize=(fig_w, fig_h), dpi=_DPI)
        FigureCanvasAgg(fig)
        heading = ('Anchor and target have the same quality' if self.relation == 'same' else
                   f'Anchor is {self.relation.replace("_", " ")} than target')
        fig.text(0.5, 1 - 0.12 / fig_h, f'{heading}  ({self.anchor_score:.2f} vs '
                 f'{self.target_score:.2f})', ha='center', va='top', fontsize=13,
                 fontweight='bold')
        points = _interior_points(view, self._regions, scale)
        for column, (side, image) in enumerate(zip(_SIDES, (anchor_image, target_image))):
            left = fig_w / 2 - panel_w - 0.1 + column * (panel_w + 0.2)
            ax = fig.add_axes((left / fig_w, bottom / fig_h, panel_w / fig_w, panel_h / fig_h))
            ax.imshow(_panel_image(image, side, (height, width), (view_w, view_h)))
            self._draw_regions(ax, side, view, points, cmap, norm, filled=image is not None)

        bar_w = min(fig_w - 1.0, 5.0)
        bar = fig.add_axes(((fig_w - bar_w) / 2 / fig_w, (bottom - 0.42) / fig_h, bar_w / fig_w,
                            0.13 / fig_h))
        fig.colorbar(ScalarMappable(norm, cmap), cax=bar, orientation='horizontal')
        bar.tick_params(labelsize=8, length=2, pad=1.5)
        bar.set_title('region quality score (0 = worst, 1 = perfect)', fontsize=9, pad=3)
        fig.text(0.5, (bottom - 0.65) / fig_h, '\n'.join(key), ha='center', va='top',
                 fontsize=9, linespacing=1.6)
        fig.canvas.draw()
        picture = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[:, :, :3])
        if anchor_image is not None or target_image is not None:
            picture = picture.quantize(palette=_palette(picture),
                                       dither=Image.Dither.FLOYDSTEINBERG)
        path = Path(path)
        picture.save(path, format='PNG', optimize=True)
        return path

    # -- internals -----------------------------------------------------------------------

    def _draw_regions(self, ax, side: str, view: np.ndarray, points: list, cmap, norm,
                      filled: bool) -> None:
        scores = [getattr(r, side).score for r in self._regions]
        ax.imshow(_score_overlay(view, scores, cmap, norm, 0.22 if filled else 0.7),
                  interpolation='nearest')
        ax.set_title(f'{side.capitalize()}  \u2013  image score {self._aggregate_score(side):.2f}',
                     fontsize=11.5, pad=5)
        ax.set_axis_off()
        view_h, view_w = view.shape
        font = 8.5 if len(self) <= 25 else 7.0
        font_px = font * _DPI / 72
        for region, (x, y) in zip(self._regions, points):
            label = getattr(region, side)
            text = f'{region.id} {_ABBREVIATIONS[label.distortion]}'
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

    def _aggregate_score(self, side: str) -> float:
        areas = np.array([r.area for r in self._regions], dtype=np.float64)
        scores = np.array([getattr(r, side).score for r in self._regions], dtype=np.float64)
        return float(np.dot(areas, scores) / areas.sum())

    def _check_aggregates(self, data: Mapping) -> None:
        for side in _SIDES:
            block = data[side]
            if not isinstance(block, Mapping):
                raise PandaInputError(f'{side} must be an object with score and distortion_areas')
            _require_keys(block, ('score', 'distortion_areas'), side)
            expected = self._aggregate_score(side)
            stored = block['score']
            if not _is_number(stored) or abs(stored - expected) > _AGGREGATE_TOLERANCE:
                raise PandaInputError(f'{side} score {stored!r} does not match the area-weighted '
                                      f'mean of its region scores ({expected!r})')
            areas, computed = block['distortion_areas'], self.distortion_areas(side)
            if not isinstance(areas, Mapping) or any(
                    name not in DISTORTIONS or not _is_number(value)
                    for name, value in areas.items()):
                raise PandaInputError(f'{side} distortion_areas {areas!r} must map distortion '
                                      'names to area fractions')
            if any(abs(areas.get(n, 0) - computed.get(n, 0)) > _AGGREGATE_TOLERANCE
                   for n in DISTORTIONS):
                raise PandaInputError(f'{side} distortion_areas {dict(areas)!r} do not match the '
                                      f'regions ({computed!r})')
        if data['relation'] != self.relation:
            raise PandaInputError(f'image relation {data["relation"]!r} does not match the '
                                  f'whole-image scores ({self.relation!r})')


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _check_side(side) -> None:
    if side not in _SIDES:
        raise PandaInputError(f'side {side!r} is not accepted; accepted: anchor, target')


def _require_keys(data: Mapping, keys: tuple[str, ...], where: str) -> None:
    missing = [key for key in keys if key not in data]
    if missing:
        raise PandaInputError(f'{where} lacks key(s) {", ".join(missing)}; '
                              f'required: {", ".join(keys)}')


def _checked_label_map(label_map) -> np.ndarray:
    label_map = np.asarray(label_map)
    if label_map.ndim != 2:
        raise PandaInputError(f'a label map must be HxW, got shape {label_map.shape}')
    if not np.issubdtype(label_map.dtype, np.integer):
        raise PandaInputError(f'a label map must hold integers, got dtype {label_map.dtype}')
    if label_map.size == 0 or label_map.max() < 0:
        raise PandaInputError('the label map holds no region; a graph needs at least one')
    low, high = int(label_map.min()), int(label_map.max())
    if low < -1 or high >= np.iinfo(np.int32).max:
        raise PandaInputError(f'label map values span {low}..{high}; accepted: -1 (no region) '
                              'and region indices 0..N-1')
    checked = label_map.astype(np.int32, copy=True)
    checked.flags.writeable = False
    return checked


def _checked_metadata(metadata) -> dict:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise PandaInputError(f'metadata must be a mapping, got {type(metadata).__name__}')
    try:
        return json.loads(json.dumps(dict(metadata), allow_nan=False))
    except (TypeError, ValueError) as error:
        raise PandaInputError(f'metadata must be JSON-serialisable: {error}') from None


def _checked_label(where: str, label) -> RegionLabel:
    if not isinstance(label, RegionLabel):
        raise PandaInputError(f'{where}: label must be a RegionLabel, got {type(label).__name__}')
    if not isinstance(label.distortion, str) or label.distortion not in DISTORTIONS:
        raise PandaInputError(f'{where}: unknown distortion {label.distortion!r}; accepted: '
                              f'{", ".join(DISTORTIONS)}')
    if not isinstance(label.severity, str) or label.severity not in SEVERITIES:
        raise PandaInputError(f'{where}: unknown severity {label.severity!r}; accepted: '
                              f'{", ".join(SEVERITIES)}')
    if (label.distortion == 'clean') != (label.severity == 'clean'):
        raise PandaInputError(f'{where}: distortion {label.distortion!r} with severity '
                              f'{label.severity!r}; severity is clean exactly when the '
                              'distortion is clean')
    score = label.score
    if not _is_number(score) or not math.isfinite(score) or not 0.0 <= score <= 1.0:
        raise PandaInputError(f'{where}: score {score!r} is not accepted; accepted: a finite '
                              'number in [0, 1]')
    return RegionLabel(str(label.distortion), str(label.severity), float(score))


def _checked_regions(label_map: np.ndarray, regions) -> tuple[Region, ...]:
    if isinstance(regions, (str, Mapping)) or not isinstance(regions, Sequence):
        raise PandaInputError(f'regions must be a sequence of Region, got {type(regions).__name__}')
    count = region_count(label_map)
    if len(regions) != count:
        raise PandaInputError(f'region count mismatch: the label map has {count} regions '
                              f'(indices 0..{count - 1}), {len(regions)} regions were given')
    boxes, areas = boxes_and_areas(label_map)
    checked: dict[int, Region] = {}
    for region in regions:
        if not isinstance(region, Region):
            raise PandaInputError(f'regions must be Region objects, got {type(region).__name__}')
        index = region.id
        if not _is_int(index) or not 0 <= index < count:
            raise PandaInputError(f'region id {index!r} is not a label-map index; accepted: '
                                  f'integers 0..{count - 1}')
        index = int(index)
        if index in checked:
            raise PandaInputError(f'duplicate region id {index}; every id appears exactly once')
        if areas[index] == 0:
            raise PandaInputError(f'region {index} has no pixels in the label map; every region '
                                  'needs at least one pixel')
        expected_box = tuple(int(v) for v in boxes[index])
        try:
            box = tuple(int(v) for v in region.bbox)
        except (TypeError, ValueError):
            box = None
        if box != expected_box or any(not _is_int(v) for v in region.bbox):
            raise PandaInputError(f'region {index}: bbox {region.bbox!r} does not match its mask '
                                  f'in the label map; expected [x, y, w, h] = {list(expected_box)}')
        if not _is_int(region.area) or int(region.area) != int(areas[index]):
            raise PandaInputError(f'region {index}: area {region.area!r} does not match its mask '
                                  f'in the label map ({int(areas[index])} pixels)')
        if not isinstance(region.relation, str) or region.relation not in RELATIONS:
            raise PandaInputError(f'region {index}: unknown relation {region.relation!r}; accepted '
                                  f'(anchor relative to target): {", ".join(RELATIONS)}')
        checked[index] = Region(
            id=index, bbox=expected_box, area=int(areas[index]),
            anchor=_checked_label(f'region {index} (anchor)', region.anchor),
            target=_checked_label(f'region {index} (target)', region.target),
            relation=region.relation)
    return tuple(checked[index] for index in range(count))


def _region_from_record(index: int, record: Mapping) -> Region:
    sides = {}
    for side in _SIDES:
        label = record[side]
        if not isinstance(label, Mapping):
            raise PandaInputError(f'region {index} ({side}) must be an object with '
                                  f'{", ".join(_LABEL_KEYS)}')
        _require_keys(label, _LABEL_KEYS, f'region {index} ({side})')
        sides[side] = RegionLabel(label['distortion'], label['severity'], label['score'])
    bbox = record['bbox']
    if not isinstance(bbox, Sequence) or isinstance(bbox, str) or len(bbox) != 4:
        raise PandaInputError(f'region {index}: bbox {bbox!r} must be [x, y, w, h]')
    return Region(id=index, bbox=tuple(bbox), area=record['area'], anchor=sides['anchor'],
                  target=sides['target'], relation=record['relation'])


def _column(name: str, values, count: int) -> list:
    if isinstance(values, str) or not hasattr(values, '__len__'):
        raise PandaInputError(f'{name} must be a sequence with one entry per region')
    if len(values) != count:
        raise PandaInputError(f'region count mismatch: {name} has {len(values)} entries, the '
                              f'label map has {count} regions')
    return list(np.asarray(values).tolist() if isinstance(values, np.ndarray) else values)


def _side_labels(side: str, labels, count: int) -> list[RegionLabel]:
    columns = {}
    for key in _LABEL_KEYS:
        if isinstance(labels, Mapping) and key in labels:
            columns[key] = _column(f'{side} {key}', labels[key], count)
        elif not isinstance(labels, Mapping) and hasattr(labels, key):
            columns[key] = _column(f'{side} {key}', getattr(labels, key), count)
        else:
            raise PandaInputError(f'{side} labels lack {key!r}; required: {", ".join(_LABEL_KEYS)}')
    result = []
    for index in range(count):
        where = f'region {index} ({side})'
        label = RegionLabel(
            distortion=_named(where, DISTORTIONS, distortion_id, columns['distortion'][index]),
            severity=_named(where, SEVERITIES, severity_id, columns['severity'][index]),
            score=columns['score'][index])
        result.append(_checked_label(where, label))
    return result


def _named(where: str, names: tuple[str, ...], lookup, value) -> str:
    try:
        return names[lookup(value)]
    except PandaInputError as error:
        raise PandaInputError(f'{where}: {error}') from None


def _label_dict(label: RegionLabel) -> dict:
    return {'distortion': label.distortion, 'severity': label.severity, 'score': label.score}


def _label_text(label: RegionLabel) -> str:
    if label.distortion == 'clean':
        return f'clean ({label.score:.2f})'
    return f'{label.distortion}/{label.severity} ({label.score:.2f})'


def _interior_points(view: np.ndarray, regions: tuple[Region, ...],
                     scale: float) -> list[tuple[float, float]]:
    from scipy import ndimage

    points = []
    for region, box in zip(regions, ndimage.find_objects(view + 1, max_label=len(regions))):
        if box is None:
            x, y, w, h = region.bbox
            points.append(((x + w / 2) * scale - 0.5, (y + h / 2) * scale - 0.5))
            continue
        inside = np.pad(view[box] == region.id, 1)
        distance = ndimage.distance_transform_edt(inside)
        row, col = np.unravel_index(int(np.argmax(distance)), distance.shape)
        points.append((box[1].start + col - 1, box[0].start + row - 1))
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
