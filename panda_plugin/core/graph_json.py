"""JSON form of a distortion graph (schema ``panda-dg/1``): masks as COCO compressed RLE, the
whole-image aggregates written out and checked again on reading."""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.graph import DistortionGraph
from panda_plugin.core.json_files import parse_json, read_json
from panda_plugin.core.masks import MAX_PIXELS, rle_decode, rle_encode, rle_size
from panda_plugin.core.region_labels import LABEL_KEYS, SIDES, Region, RegionLabel, is_int, is_number
from panda_plugin.core.taxonomy import DISTORTIONS

#: Value of the ``schema`` key of the JSON form.
SCHEMA = 'panda-dg/1'

_GRAPH_KEYS = ('schema', 'image_size', 'anchor', 'target', 'relation', 'regions', 'metadata')
_REGION_KEYS = ('id', 'bbox', 'area', 'anchor', 'target', 'relation', 'mask')
#: Tolerance when checking the derived whole-image fields of a JSON graph.
_AGGREGATE_TOLERANCE = 1e-6


def graph_from_dict(data: Mapping) -> DistortionGraph:
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
            or not all(is_int(v) and v > 0 for v in size)):
        raise PandaInputError(f'image_size {size!r} must be [h, w], two positive integers')
    height, width = int(size[0]), int(size[1])
    if height * width > MAX_PIXELS:
        raise PandaInputError(f'image_size {[height, width]} is too large; accepted: at most '
                              f'{MAX_PIXELS} pixels')
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
        if not is_int(index) or not 0 <= index < len(records):
            raise PandaInputError(f'regions[{position}]: id {index!r} is not a region index; '
                                  f'accepted: integers 0..{len(records) - 1}')
        if index in seen:
            raise PandaInputError(f'duplicate region id {index}; every id appears exactly once')
        seen.add(index)
        regions.append(_region_from_record(index, record))
        declared = rle_size(record['mask'])
        if declared != (height, width):
            raise PandaInputError(f'region {index}: mask size {list(declared)} differs from '
                                  f'image_size {[height, width]}')
        mask = rle_decode(record['mask'])
        if not mask.any():
            raise PandaInputError(f'region {index}: mask is empty; every region needs a pixel')
        taken = label_map[mask]
        if (taken >= 0).any():
            other = int(taken[taken >= 0][0])
            raise PandaInputError(f'region {index}: mask overlaps region {other} on '
                                  f'{int((taken >= 0).sum())} pixels; masks must be disjoint')
        label_map[mask] = index
    graph = DistortionGraph(label_map, regions, metadata=data['metadata'])
    _check_aggregates(graph, data)
    return graph

def graph_from_json(source: str | os.PathLike) -> DistortionGraph:
    """Read a graph from JSON text or from a ``.json`` file.

    Args:
        source: JSON text (starting with ``{``) or a path to a JSON file.

    Returns:
        The validated graph.
    """
    if isinstance(source, str) and source.lstrip().startswith('{'):
        return graph_from_dict(parse_json(source, 'JSON text'))
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise PandaInputError(f'{str(path)!r} is neither JSON text nor an existing file')
        return graph_from_dict(read_json(path, 'graph file'))
    raise PandaInputError(f'cannot read a graph from a {type(source).__name__}; accepted: JSON text or a path')


def graph_to_dict(graph: DistortionGraph) -> dict:
    """Dictionary form with the ``panda-dg/1`` schema (masks as COCO compressed RLE).

    Args:
        graph: The graph.

    Returns:
        A JSON-serialisable dict.
    """
    return {
        'schema': SCHEMA,
        'image_size': list(graph.image_size),
        **{side: {'score': graph.aggregate_score(side),
                  'distortion_areas': graph.distortion_areas(side)} for side in SIDES},
        'relation': graph.relation,
        'regions': [{
            'id': r.id, 'bbox': list(r.bbox), 'area': r.area,
            'anchor': _label_dict(r.anchor), 'target': _label_dict(r.target),
            'relation': r.relation, 'mask': rle_encode(graph.label_map == r.id),
        } for r in graph.regions],
        'metadata': graph.metadata,
    }


def _check_aggregates(graph: DistortionGraph, data: Mapping) -> None:
    for side in SIDES:
        block = data[side]
        if not isinstance(block, Mapping):
            raise PandaInputError(f'{side} must be an object with score and distortion_areas')
        _require_keys(block, ('score', 'distortion_areas'), side)
        expected = graph.aggregate_score(side)
        stored = block['score']
        if not is_number(stored) or abs(stored - expected) > _AGGREGATE_TOLERANCE:
            raise PandaInputError(f'{side} score {stored!r} does not match the area-weighted '
                                  f'mean of its region scores ({expected!r})')
        areas, computed = block['distortion_areas'], graph.distortion_areas(side)
        if not isinstance(areas, Mapping) or any(
                name not in DISTORTIONS or not is_number(value)
                for name, value in areas.items()):
            raise PandaInputError(f'{side} distortion_areas {areas!r} must map distortion '
                                  'names to area fractions')
        if any(abs(areas.get(n, 0) - computed.get(n, 0)) > _AGGREGATE_TOLERANCE
               for n in DISTORTIONS):
            raise PandaInputError(f'{side} distortion_areas {dict(areas)!r} do not match the '
                                  f'regions ({computed!r})')
    if data['relation'] != graph.relation:
        raise PandaInputError(f'image relation {data["relation"]!r} does not match the '
                              f'whole-image scores ({graph.relation!r})')


def _require_keys(data: Mapping, keys: tuple[str, ...], where: str) -> None:
    missing = [key for key in keys if key not in data]
    if missing:
        raise PandaInputError(f'{where} lacks key(s) {", ".join(missing)}; '
                              f'required: {", ".join(keys)}')


def _region_from_record(index: int, record: Mapping) -> Region:
    sides = {}
    for side in SIDES:
        label = record[side]
        if not isinstance(label, Mapping):
            raise PandaInputError(f'region {index} ({side}) must be an object with '
                                  f'{", ".join(LABEL_KEYS)}')
        _require_keys(label, LABEL_KEYS, f'region {index} ({side})')
        sides[side] = RegionLabel(label['distortion'], label['severity'], label['score'])
    bbox = record['bbox']
    if not isinstance(bbox, Sequence) or isinstance(bbox, str) or len(bbox) != 4:
        raise PandaInputError(f'region {index}: bbox {bbox!r} must be [x, y, w, h]')
    return Region(id=index, bbox=tuple(bbox), area=record['area'], anchor=sides['anchor'],
                  target=sides['target'], relation=record['relation'])


def _label_dict(label: RegionLabel) -> dict:
    return {'distortion': label.distortion, 'severity': label.severity, 'score': label.score}
