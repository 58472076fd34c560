"""The per-region labels of an image pair, in every form the package uses, and their checks.

A region carries, in each image (``SIDES``), a distortion, a severity and a score
(``LABEL_KEYS``), and one relation between the two images. ``RegionLabels`` holds them as
arrays (numpy or torch, one value per region or per batch and region): the network's heads
decode into it, the datasets, LMDB records, loss, evaluation and benchmark read it, and graphs
are built from it. ``LABEL_FIELDS`` are its flat field names; nothing else spells them.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Callable

import numpy as np

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.masks import boxes_and_areas, region_count
from panda_plugin.core.taxonomy import DISTORTIONS, RELATIONS, SEVERITIES, distortion_id, severity_id

#: The two images of a pair; relations read the anchor relative to the target.
SIDES = ('anchor', 'target')
#: What every region carries in each image.
LABEL_KEYS = ('distortion', 'severity', 'score')
#: Flat label fields (``relation`` and ``<side>_<key>``) and their class counts (0: a score).
LABEL_FIELDS = {'relation': len(RELATIONS),
                **{f'{side}_{key}': {'distortion': len(DISTORTIONS), 'severity': len(SEVERITIES), 'score': 0}[key]
                   for side in SIDES for key in LABEL_KEYS}}


def label_field(side: str, key: str) -> str:
    """Flat field name of one side's label, e.g. ``label_field('anchor', 'score')``.

    Args:
        side: One of ``SIDES``.
        key: One of ``LABEL_KEYS``.

    Returns:
        A key of ``LABEL_FIELDS``.
    """
    return f'{side}_{key}'


@dataclass(frozen=True)
class RegionLabels:
    """Per-region labels: relation ids, distortion and severity ids and scores per side.

    Every field is an array (numpy or torch) with one entry per region (or per batch and region).
    """

    relation: Any
    anchor_distortion: Any
    anchor_severity: Any
    anchor_score: Any
    target_distortion: Any
    target_severity: Any
    target_score: Any

    @classmethod
    def from_fields(cls, values) -> RegionLabels:
        """From a mapping with the keys of ``LABEL_FIELDS`` (extra keys are ignored)."""
        return cls(**{name: values[name] for name in LABEL_FIELDS})

    @classmethod
    def from_stored(cls, labels: Mapping) -> RegionLabels:
        """From the JSON labels of a stored record: ``relation`` and per side ``{distortion,
        severity, score}`` lists."""
        return cls(relation=np.asarray(labels['relation'], np.int64),
                   **{label_field(side, key): np.asarray(labels[side][key], np.float64 if key == 'score' else np.int64)
                      for side in SIDES for key in LABEL_KEYS})

    def as_dict(self) -> dict:
        """``{field: array}`` with the keys of ``LABEL_FIELDS``."""
        return {field.name: getattr(self, field.name) for field in fields(self)}

    def side(self, side: str) -> dict:
        """One image's labels as ``{distortion, severity, score}``."""
        return {key: getattr(self, label_field(side, key)) for key in LABEL_KEYS}

    def map(self, function: Callable) -> RegionLabels:
        """The labels with ``function`` applied to every array."""
        return RegionLabels(**{name: function(value) for name, value in self.as_dict().items()})


@dataclass(frozen=True)
class RegionLabel:
    """Distortion label of one region in one image.

    Attributes:
        distortion: A name from ``taxonomy.DISTORTIONS``.
        severity: A name from ``taxonomy.SEVERITIES`` (``'clean'`` iff the distortion is).
        score: Quality score in [0, 1], 1 = perfect (in reference mode: fidelity).
        texture: Texture score in [0, 1] (reference mode, ``engine.texture``), or None
            where it was not measured (pairwise mode).
    """

    distortion: str
    severity: str
    score: float
    texture: float | None = None


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


def is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def check_side(side) -> None:
    if side not in SIDES:
        raise PandaInputError(f'side {side!r} is not accepted; accepted: anchor, target')


def checked_label_map(label_map) -> np.ndarray:
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


def checked_metadata(metadata) -> dict:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise PandaInputError(f'metadata must be a mapping, got {type(metadata).__name__}')
    try:
        return json.loads(json.dumps(dict(metadata), allow_nan=False))
    except (TypeError, ValueError) as error:
        raise PandaInputError(f'metadata must be JSON-serialisable: {error}') from None


def checked_label(where: str, label) -> RegionLabel:
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
    for name in ('score', 'texture'):
        value = getattr(label, name)
        if name == 'texture' and value is None:
            continue
        if not is_number(value) or not math.isfinite(value) or not 0.0 <= value <= 1.0:
            accepted = 'a finite number in [0, 1]' + (' or None' if name == 'texture' else '')
            raise PandaInputError(f'{where}: {name} {value!r} is not accepted; accepted: {accepted}')
    texture = None if label.texture is None else float(label.texture)
    return RegionLabel(str(label.distortion), str(label.severity), float(label.score), texture)


def checked_regions(label_map: np.ndarray, regions, geometry: tuple | None = None) -> tuple[Region, ...]:
    if isinstance(regions, (str, Mapping)) or not isinstance(regions, Sequence):
        raise PandaInputError(f'regions must be a sequence of Region, got {type(regions).__name__}')
    count = region_count(label_map)
    if len(regions) != count:
        raise PandaInputError(f'region count mismatch: the label map has {count} regions '
                              f'(indices 0..{count - 1}), {len(regions)} regions were given')
    boxes, areas = boxes_and_areas(label_map) if geometry is None else geometry
    checked: dict[int, Region] = {}
    for region in regions:
        if not isinstance(region, Region):
            raise PandaInputError(f'regions must be Region objects, got {type(region).__name__}')
        index = region.id
        if not is_int(index) or not 0 <= index < count:
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
        if box != expected_box or any(not is_int(v) for v in region.bbox):
            raise PandaInputError(f'region {index}: bbox {region.bbox!r} does not match its mask '
                                  f'in the label map; expected [x, y, w, h] = {list(expected_box)}')
        if not is_int(region.area) or int(region.area) != int(areas[index]):
            raise PandaInputError(f'region {index}: area {region.area!r} does not match its mask '
                                  f'in the label map ({int(areas[index])} pixels)')
        if not isinstance(region.relation, str) or region.relation not in RELATIONS:
            raise PandaInputError(f'region {index}: unknown relation {region.relation!r}; accepted '
                                  f'(anchor relative to target): {", ".join(RELATIONS)}')
        checked[index] = Region(
            id=index, bbox=expected_box, area=int(areas[index]),
            anchor=checked_label(f'region {index} (anchor)', region.anchor),
            target=checked_label(f'region {index} (target)', region.target),
            relation=region.relation)
    return tuple(checked[index] for index in range(count))


def label_column(name: str, values, count: int) -> list:
    if isinstance(values, str) or not hasattr(values, '__len__'):
        raise PandaInputError(f'{name} must be a sequence with one entry per region')
    if len(values) != count:
        raise PandaInputError(f'region count mismatch: {name} has {len(values)} entries, the '
                              f'label map has {count} regions')
    return list(np.asarray(values).tolist() if isinstance(values, np.ndarray) else values)


def side_labels(side: str, labels, count: int) -> list[RegionLabel]:
    columns = {}
    for key in LABEL_KEYS:
        if isinstance(labels, Mapping) and key in labels:
            columns[key] = label_column(f'{side} {key}', labels[key], count)
        elif not isinstance(labels, Mapping) and hasattr(labels, key):
            columns[key] = label_column(f'{side} {key}', getattr(labels, key), count)
        else:
            raise PandaInputError(f'{side} labels lack {key!r}; required: {", ".join(LABEL_KEYS)}')
    textures = labels.get('texture') if isinstance(labels, Mapping) else getattr(labels, 'texture', None)
    textures = [None] * count if textures is None else label_column(f'{side} texture', textures, count)
    result = []
    for index in range(count):
        where = f'region {index} ({side})'
        label = RegionLabel(
            distortion=label_name(where, DISTORTIONS, distortion_id, columns['distortion'][index]),
            severity=label_name(where, SEVERITIES, severity_id, columns['severity'][index]),
            score=columns['score'][index], texture=textures[index])
        result.append(checked_label(where, label))
    return result


def label_name(where: str, names: tuple[str, ...], lookup, value) -> str:
    try:
        return names[lookup(value)]
    except PandaInputError as error:
        raise PandaInputError(f'{where}: {error}') from None
