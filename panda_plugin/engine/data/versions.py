"""Degraded versions of one clean image, labelled region by region.

A *version* is the clean image with about 80% of its regions degraded: ``single:<type>``
versions use one distortion type (random severity per region), ``mixed:<k>`` versions give
each degraded region a chain of 2-3 distinct types. Every version is seeded by its name, so
it is the same whichever pairs ask for it.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from panda_plugin.core.taxonomy import DISTORTION_TYPES, distortion_id
from panda_plugin.engine.distortions import degrade_regions

#: Fraction of regions degraded in every version.
DEGRADED_FRACTION = 0.8


@dataclass(frozen=True)
class Version:
    """One labelled version of an image.

    Args:
        name: ``'clean'``, ``'single:<type>'`` or ``'mixed:<k>'``.
        image: HxWx3 uint8 RGB image.
        distortion: Distortion id per region (0 = clean); for chains, the main one.
        severity: Severity id per region (0 = clean).
        score: Region scores in [0, 1] from the region scorer.
        chains: Per region, the applied ``(distortion, severity)`` steps in order.
    """

    name: str
    image: np.ndarray
    distortion: np.ndarray
    severity: np.ndarray
    score: np.ndarray
    chains: list

    def labels(self) -> dict:
        """JSON-able labels of this version."""
        return {
            'version': self.name,
            'distortion': self.distortion.tolist(),
            'severity': self.severity.tolist(),
            'score': [float(s) for s in self.score],
            'chains': [[list(step) for step in chain] for chain in self.chains],
        }


def version_rng(seed: int, source: str, name: str) -> np.random.Generator:
    """The generator of one version: a function of the run seed, the source and the name only.

    Args:
        seed: Run seed.
        source: Stable name of the source image.
        name: Version name.

    Returns:
        A numpy Generator.
    """
    words = [seed, zlib.crc32(source.encode()), zlib.crc32(name.encode())]
    return np.random.default_rng(np.random.SeedSequence(words))


def sample_chains(name: str, region_count: int, rng: np.random.Generator) -> list:
    """Distortion chains of every region for a version name.

    Args:
        name: ``'clean'``, ``'single:<type>'`` or ``'mixed:<k>'``.
        region_count: Number of regions.
        rng: Generator of this version.

    Returns:
        One list of ``(type, severity)`` steps per region; the last step is the main one.
    """
    chains: list = [[] for _ in range(region_count)]
    if name == 'clean':
        return chains
    degraded = rng.permutation(region_count)[:max(1, round(DEGRADED_FRACTION * region_count))]
    kind, _, detail = name.partition(':')
    for region in sorted(degraded.tolist()):
        if kind == 'single':
            chains[region] = [(detail, int(rng.integers(1, 4)))]
        else:
            types = rng.choice(len(DISTORTION_TYPES), size=int(rng.integers(2, 4)), replace=False)
            severities = sorted(int(s) for s in rng.integers(1, 4, size=len(types)))
            chains[region] = [(DISTORTION_TYPES[t], s) for t, s in zip(types, severities)]
    return chains


def make_version(name: str, clean: np.ndarray, label_map: np.ndarray, scorer, seed: int,
                 source: str) -> Version:
    """Build and label one version of a clean image.

    Args:
        name: Version name.
        clean: HxWx3 uint8 RGB clean image.
        label_map: int32 HxW label map (full partition).
        scorer: Region scorer ``(distorted, clean, label_map) -> scores``.
        seed: Run seed.
        source: Stable name of the source image.

    Returns:
        The labelled ``Version``.
    """
    count = int(label_map.max()) + 1
    rng = version_rng(seed, source, name)
    chains = sample_chains(name, count, rng)
    image = degrade_regions(clean, label_map, chains, seed=int(rng.integers(2 ** 31)))
    main = [chain[-1] if chain else ('clean', 0) for chain in chains]
    score = np.ones(count) if name == 'clean' else np.asarray(scorer(image, clean, label_map))
    return Version(
        name=name,
        image=image,
        distortion=np.array([distortion_id(t) for t, _ in main], np.int64),
        severity=np.array([s for _, s in main], np.int64),
        score=score,
        chains=chains,
    )
