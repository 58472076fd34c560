"""Which (anchor, target) version pairs make up each PANDABENCH / PANDASET split.

- ``easy``: single-distortion version vs another single-distortion version;
- ``medium``: single vs mixed, in either order;
- ``hard``: mixed vs another mixed, both orders;
- ``train``: all of the above plus restoration pairs (a degraded anchor, the clean target);
- ``realistic``: what restorers produce and photographers shoot: the clean image against
  itself (``identity``), a whole-image degradation against the clean image (``whole``), a
  restoration-like output against the clean image (``restored``), both in either order, and
  two restoration-like outputs against each other (``restored_pair``); see ``versions``;
- ``light``: light noise or film grain on the whole image against the clean image, in either
  order (``light``), with identity and whole-image pairs as in ``realistic`` so that clean
  images and heavier distortions keep their names.
"""
from __future__ import annotations

import itertools

import numpy as np

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.taxonomy import DISTORTION_TYPES
from panda_plugin.engine.panda.data.versions import LIGHT_VERSIONS, RESTORED_VERSIONS, WHOLE_VERSIONS

SPLITS = ('train', 'easy', 'medium', 'hard', 'realistic', 'light')
#: Share of each pair kind in the ``train`` split.
TRAIN_MIX = {'easy': 0.3, 'medium': 0.25, 'hard': 0.25, 'restoration': 0.2}
#: Share of each pair kind in the ``realistic`` split.
REALISTIC_MIX = {'identity': 0.2, 'whole': 0.25, 'restored': 0.4, 'restored_pair': 0.15}
#: Share of each pair kind in the ``light`` split.
LIGHT_MIX = {'light': 0.6, 'identity': 0.15, 'whole': 0.25}
MIXES = {'train': TRAIN_MIX, 'realistic': REALISTIC_MIX, 'light': LIGHT_MIX}

_SINGLES = [f'single:{t}' for t in DISTORTION_TYPES]


def _candidates(kind: str, mixed_count: int) -> list[tuple[str, str]]:
    mixed = [f'mixed:{k}' for k in range(mixed_count)]
    if kind == 'easy':
        return list(itertools.permutations(_SINGLES, 2))
    if kind == 'medium':
        return [p for s in _SINGLES for m in mixed for p in ((s, m), (m, s))]
    if kind == 'hard':
        return [p for a, b in zip(mixed[0::2], mixed[1::2]) for p in ((a, b), (b, a))]
    if kind == 'identity':
        return [('clean', 'clean')]
    if kind in ('whole', 'restored', 'light'):
        names = {'whole': WHOLE_VERSIONS, 'restored': RESTORED_VERSIONS, 'light': LIGHT_VERSIONS}[kind]
        return [p for v in names for p in ((v, 'clean'), ('clean', v))]
    if kind == 'restored_pair':
        return list(itertools.permutations(RESTORED_VERSIONS, 2))
    return [(v, 'clean') for v in _SINGLES + mixed]


def sample_pairs(split: str, count: int, rng: np.random.Generator) -> list[tuple[str, str, str]]:
    """Sample the version pairs of one source image.

    Pairs are distinct while the split has enough of them; the number of mixed versions
    grows with ``count`` so that hard pairs stay distinct.

    Args:
        split: One of ``SPLITS``.
        count: Number of pairs.
        rng: Generator of this image.

    Returns:
        List of ``(kind, anchor version, target version)``.
    """
    if split not in SPLITS:
        raise PandaInputError(f'unknown split {split!r}; accepted: {", ".join(SPLITS)}')
    if count < 1:
        raise PandaInputError(f'pairs per image must be at least 1, got {count}')
    if split in MIXES:
        mix = MIXES[split]
        kinds = rng.choice(list(mix), size=count, p=list(mix.values()))
        wanted = {kind: int((kinds == kind).sum()) for kind in mix}
    else:
        wanted = {split: count}
    mixed_count = max(2, 2 * -(-wanted.get('hard', 0) // 2))
    pairs = []
    for kind, number in wanted.items():
        if number == 0:
            continue
        options = _candidates(kind, mixed_count)
        picks = rng.choice(len(options), size=number, replace=number > len(options))
        pairs += [(kind, *options[i]) for i in picks]
    return pairs
