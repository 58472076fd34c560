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
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from panda_plugin.core.atomic import write_atomic
from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.masks import boxes_and_areas
from panda_plugin.core.region_labels import (
    SIDES,
    Region,
    RegionLabel,
    check_side,
    checked_label_map,
    checked_metadata,
    checked_regions,
    is_int,
    label_column,
    label_name,
    side_labels,
)
from panda_plugin.core.taxonomy import (
    DISTORTIONS,
    RELATIONS,
    invert_relation,
    relation_from_scores,
    relation_id,
    relation_ids_from_scores,
)

#: ``PAINTER(graph, path, anchor_image, target_image) -> Path`` writes a graph's picture. The package
#: root (``panda_plugin/__init__.py``) sets it to ``adapters.pictures.graph.save_graph_picture``,
#: loaded on first use, so the core imports neither the adapters nor matplotlib.
PAINTER = None


class MeasuredLabelMap(NamedTuple):
    """A label map checked and measured once (``measure_label_map``), for a caller that has the
    regions before their labels: ``DistortionGraph.from_labels`` takes it in place of the array.

    Attributes:
        labels: The checked read-only int32 HxW label map.
        boxes: Nx4 int64 bounding boxes ``[x, y, w, h]``.
        areas: N int64 pixel areas.
    """

    labels: np.ndarray
    boxes: np.ndarray
    areas: np.ndarray


def measure_label_map(label_map) -> MeasuredLabelMap:
    """Check a label map and measure its regions' boxes and areas.

    Args:
        label_map: HxW integer label map with N regions (values ``-1..N-1``).

    Returns:
        The measured label map.
    """
    labels = checked_label_map(label_map)
    return MeasuredLabelMap(labels, *boxes_and_areas(labels))


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
        self._set(checked_label_map(label_map), regions, metadata)

    def _set(self, label_map: np.ndarray, regions: Sequence[Region], metadata: Mapping | None,
             geometry: tuple | None = None) -> None:
        """Store a checked label map and the checked regions and metadata (``geometry``: the
        label map's ``boxes_and_areas`` when the caller has them)."""
        self._label_map = label_map
        self._metadata = checked_metadata(metadata)
        self._regions = checked_regions(label_map, regions, geometry)

    # -- constructors --------------------------------------------------------------------

    @classmethod
    def from_labels(cls, label_map: np.ndarray | MeasuredLabelMap, anchor, target, relations=None,
                    metadata: Mapping | None = None) -> DistortionGraph:
        """Build a graph from a label map and per-region label arrays.

        Args:
            label_map: HxW integer label map with N regions (values ``-1..N-1``), or the same
                measured earlier (``measure_label_map``).
            anchor: Mapping or object with length-N ``distortion`` (names or ids),
                ``severity`` (names or ids) and ``score`` (floats in [0, 1]), and optionally
                ``texture`` (floats in [0, 1]).
            target: Same for the target image.
            relations: Length-N relation names or ids, anchor relative to target. Default:
                derived from the score differences with the official thresholds.
            metadata: JSON-serialisable mapping stored with the graph.

        Returns:
            The validated graph.
        """
        if not isinstance(label_map, MeasuredLabelMap):
            label_map = measure_label_map(label_map)
        label_map, boxes, areas = label_map
        count = len(areas)
        labels = {side: side_labels(side, value, count)
                  for side, value in zip(SIDES, (anchor, target))}
        if relations is None:
            relation_ids = relation_ids_from_scores([label.score for label in labels['anchor']],
                                                    [label.score for label in labels['target']])
            relations = [RELATIONS[int(i)] for i in relation_ids]
        else:
            relations = [label_name(f'region {i}', RELATIONS, relation_id, value)
                         for i, value in enumerate(label_column('relations', relations, count))]
        regions = [Region(id=index, bbox=tuple(boxes[index]), area=areas[index],
                          anchor=labels['anchor'][index], target=labels['target'][index],
                          relation=relations[index]) for index in range(count)]
        graph = cls.__new__(cls)
        graph._set(label_map, regions, metadata, (boxes, areas))  # the label map is checked and measured once
        return graph

    @classmethod
    def from_dict(cls, data: Mapping) -> DistortionGraph:
        """Build a graph from its dictionary form (see :meth:`to_dict` and ``core.graph_json``).

        Args:
            data: Mapping with the ``panda-dg/2`` (or ``panda-dg/1``) schema.

        Returns:
            The validated graph.
        """
        from panda_plugin.core.graph_json import graph_from_dict

        return graph_from_dict(data)

    @classmethod
    def from_json(cls, source: str | os.PathLike) -> DistortionGraph:
        """Read a graph from JSON text or from a ``.json`` file.

        Args:
            source: JSON text (starting with ``{``) or a path to a JSON file.

        Returns:
            The validated graph.
        """
        from panda_plugin.core.graph_json import graph_from_json

        return graph_from_json(source)

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
        if not is_int(region_id) or not 0 <= region_id < len(self):
            raise PandaInputError(f'no region {region_id!r}; accepted: 0..{len(self) - 1}')
        return self._label_map == region_id

    @property
    def anchor_score(self) -> float:
        """Area-weighted mean of the anchor region scores."""
        return self.aggregate_score('anchor')

    @property
    def target_score(self) -> float:
        """Area-weighted mean of the target region scores."""
        return self.aggregate_score('target')

    @property
    def anchor_texture(self) -> float | None:
        """Area-weighted mean of the anchor region texture scores (None without texture)."""
        return self.aggregate_texture('anchor')

    @property
    def target_texture(self) -> float | None:
        """Area-weighted mean of the target region texture scores (None without texture)."""
        return self.aggregate_texture('target')

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
        check_side(side)
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
        checked_regions(checked_label_map(self._label_map), self._regions)
        checked_metadata(self._metadata)

    # -- serialisation -------------------------------------------------------------------

    def to_dict(self) -> dict:
        """Dictionary form with the ``panda-dg/2`` schema (masks as COCO compressed RLE).

        Returns:
            A JSON-serialisable dict.
        """
        from panda_plugin.core.graph_json import graph_to_dict

        return graph_to_dict(self)

    def to_json(self, path: str | os.PathLike | None = None, indent: int | None = None) -> str:
        """JSON text of :meth:`to_dict`; floats are written exactly.

        Args:
            path: If given, also write the text to this file (atomically; missing folders are
                created).
            indent: Indentation passed to ``json.dumps``. Default: compact single line.

        Returns:
            The JSON text.
        """
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False)
        if path is not None:
            write_atomic(path, text, 'graph JSON file')
        return text

    def to_prompt(self) -> str:
        """Compact plain-text description, one line per region, for use as model context.

        Returns:
            A header line (image size, region count, whole-image scores and relation) and one
            line per region; relations read anchor relative to target.
        """
        height, width = self.image_size
        textures = ''
        if self.anchor_texture is not None:
            textures = (' Texture in [0,1]: how well the texture statistics of the anchor match the '
                        f'target, tolerant of resampled detail; whole image {self.anchor_texture:.2f}.')
        header = (f'Distortion graph of an anchor/target image pair: {width}x{height} px '
                  f'(w x h), {len(self)} regions; whole image: anchor {self.anchor_score:.2f}, '
                  f'target {self.target_score:.2f} -> anchor {self.relation}. Scores in [0,1] '
                  f'(1 = perfect); relations are the anchor relative to the target.{textures}')
        lines = [header]
        for r in self._regions:
            x, y, w, h = r.bbox
            share = 100 * r.area / (width * height)
            lines.append(f'R{r.id} [x={x} y={y} w={w} h={h}, {share:.1f}% '
                         f'of image] anchor: {_label_text(r.anchor)} | target: '
                         f'{_label_text(r.target)} -> anchor {r.relation}')
        return '\n'.join(lines)

    def render(self, path: str | os.PathLike, anchor_image=None, target_image=None) -> Path:
        """Draw the graph over the two images and write a PNG (with ``PAINTER``).

        Args:
            path: Destination PNG path.
            anchor_image: Anchor image (path, PIL image or HxWx3 array) of ``image_size``.
                Default: a grey canvas.
            target_image: Target image, likewise.

        Returns:
            The written path.
        """
        return PAINTER(self, path, anchor_image, target_image)

    # -- internals -----------------------------------------------------------------------

    def aggregate_score(self, side: str) -> float:
        """Area-weighted mean of one side's region scores.

        Args:
            side: ``'anchor'`` or ``'target'``.

        Returns:
            The whole-image score.
        """
        areas = np.array([r.area for r in self._regions], dtype=np.float64)
        scores = np.array([getattr(r, side).score for r in self._regions], dtype=np.float64)
        return float(np.dot(areas, scores) / areas.sum())

    def aggregate_texture(self, side: str) -> float | None:
        """Area-weighted mean of one side's region texture scores.

        Args:
            side: ``'anchor'`` or ``'target'``.

        Returns:
            The whole-image texture score, or None when a region of that side has none.
        """
        check_side(side)
        textures = [getattr(r, side).texture for r in self._regions]
        if any(value is None for value in textures):
            return None
        areas = np.array([r.area for r in self._regions], dtype=np.float64)
        return float(np.dot(areas, np.asarray(textures, np.float64)) / areas.sum())

def _label_text(label: RegionLabel) -> str:
    values = f'{label.score:.2f}' if label.texture is None else f'{label.score:.2f}, texture {label.texture:.2f}'
    if label.distortion == 'clean':
        return f'clean ({values})'
    return f'{label.distortion}/{label.severity} ({values})'


