"""The PANDA label taxonomy: distortion types, severities, relations and thresholds.

Ids and names are the official ones (PANDA, ICLR 2026). Everything else in the package
refers to labels through this module.
"""
from __future__ import annotations

import numpy as np

from panda_plugin.core.errors import PandaInputError

#: Distortion classes; the position in the tuple is the official label id (0 = clean).
DISTORTIONS: tuple[str, ...] = (
    'clean', 'snow', 'contrast_inc', 'compression', 'brightness', 'oversharpen', 'noise',
    'blur', 'haze', 'rain', 'saturate_inc', 'saturate_dec', 'contrast_dec', 'darken',
    'pixelate')

#: Severity classes; position = label id.
SEVERITIES: tuple[str, ...] = ('clean', 'minor', 'moderate', 'severe')

#: Relations of an anchor region relative to its target region; position = label id.
RELATIONS: tuple[str, ...] = (
    'same', 'slightly_worse', 'significantly_worse', 'slightly_better', 'significantly_better')

#: |score(anchor) - score(target)| below this is ``same``.
SAME_THRESHOLD = 0.1
#: |score(anchor) - score(target)| at or above this is ``significantly_*``.
SIGNIFICANT_THRESHOLD = 0.3

#: The 14 real distortions (everything but ``clean``).
DISTORTION_TYPES: tuple[str, ...] = DISTORTIONS[1:]

_INVERSE_RELATION = {
    'same': 'same',
    'slightly_worse': 'slightly_better',
    'significantly_worse': 'significantly_better',
    'slightly_better': 'slightly_worse',
    'significantly_better': 'significantly_worse',
}


def _lookup(kind: str, names: tuple[str, ...], value) -> int:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        if 0 <= int(value) < len(names):
            return int(value)
    elif isinstance(value, str) and value in names:
        return names.index(value)
    raise PandaInputError(
        f'unknown {kind} {value!r}; accepted: {", ".join(names)} (or ids 0..{len(names) - 1})')


def distortion_id(value) -> int:
    """Official id of a distortion given by name or id.

    Args:
        value: A name from ``DISTORTIONS`` or an id.

    Returns:
        The integer id.
    """
    return _lookup('distortion', DISTORTIONS, value)


def severity_id(value) -> int:
    """Official id of a severity given by name or id.

    Args:
        value: A name from ``SEVERITIES`` or an id.

    Returns:
        The integer id.
    """
    return _lookup('severity', SEVERITIES, value)


def relation_id(value) -> int:
    """Official id of a relation given by name or id.

    Args:
        value: A name from ``RELATIONS`` or an id.

    Returns:
        The integer id.
    """
    return _lookup('relation', RELATIONS, value)


def invert_relation(name: str) -> str:
    """The relation seen from the other side (``slightly_worse`` <-> ``slightly_better``).

    Args:
        name: A relation name.

    Returns:
        The relation of the target relative to the anchor.
    """
    return _INVERSE_RELATION[RELATIONS[relation_id(name)]]


def relation_ids_from_scores(anchor_scores, target_scores) -> np.ndarray:
    """Relation ids from score differences with the official thresholds.

    Args:
        anchor_scores: Array of anchor region scores in [0, 1].
        target_scores: Array of target region scores, same shape.

    Returns:
        Integer array of relation ids, anchor relative to target.
    """
    diff = np.asarray(anchor_scores, dtype=np.float64) - np.asarray(target_scores, dtype=np.float64)
    magnitude = np.abs(diff)
    significant = magnitude >= SIGNIFICANT_THRESHOLD
    ids = np.where(diff > 0, np.where(significant, 4, 3), np.where(significant, 2, 1))
    return np.where(magnitude < SAME_THRESHOLD, 0, ids).astype(np.int64)


def relation_from_scores(anchor_score: float, target_score: float) -> str:
    """Relation name of one region pair from its two scores.

    Args:
        anchor_score: Score of the anchor region in [0, 1].
        target_score: Score of the target region in [0, 1].

    Returns:
        A name from ``RELATIONS``.
    """
    return RELATIONS[int(relation_ids_from_scores([anchor_score], [target_score])[0])]
