"""Degraded versions of one clean image, labelled region by region.

A *version* is the clean image with about 80% of its regions degraded: ``single:<type>``
versions use one distortion type (random severity per region), ``mixed:<k>`` versions give
each degraded region a chain of 2-3 distinct types. Every version is seeded by its name, so
it is the same whichever pairs ask for it.

Whole-image and restoration-like versions process the whole image at once:

- ``whole:<type>:<severity>``: one distortion on the whole image; every region gets that
  type and severity.
- ``rescale:<method>:<factor>``: down/up-scaling (``restoration.rescale``); type
  ``pixelate`` for nearest, ``blur`` for bilinear, bicubic and Lanczos.
- ``denoise:<filter>:<level>`` / ``deblock:<filter>:<level>``: a classical filter applied
  to a noisy / JPEG-compressed input of that severity; ``sharpen:<factor>:<level>``:
  bicubic down/up-scaling then unsharp masking.
- ``light:<noise|grain>:<sigma>``: gaussian noise or film grain (``degradations.film_grain``)
  of standard deviation ``sigma`` (``LIGHT_LEVELS``, below the lightest ``noise`` severity) on
  the whole image; every region is ``noise``, ``minor``.

For the restoration-like versions (all but ``whole``), the type of a region follows the
*residue rule*: with ``e_in`` the error of the filter's input against the clean image and
``e_out`` the error of the output, ``rho = <e_out, e_in> / <e_in, e_in>`` over the region is
the share of the input's error still present. ``rho >= RESIDUE_SHARE`` labels the region
with the input's type (``noise`` for denoise, ``compression`` for deblock, ``blur`` for the
upscaled image under sharpening), otherwise with what the filter introduced (``blur`` for
over-smoothing, ``oversharpen`` for sharpening). The severity comes from the region score
(``severity_from_score``): the bins are the midpoints between the mean scores of consecutive
severities of that type in docs/record/panda/labeling.md, so a region gets the severity whose typical
score it is closest to; a score above the clean/minor midpoint labels the region ``clean``.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from panda_plugin.core.taxonomy import DISTORTION_TYPES, distortion_id
from panda_plugin.engine.distortions import apply_distortion, degrade_regions, degradations, restoration

#: Fraction of regions degraded in every version.
DEGRADED_FRACTION = 0.8
#: Mean ``ssim_psnr`` region score of the (minor, moderate, severe) levels of the types the
#: restoration-like versions use (whole 256x256 images, docs/record/panda/labeling.md).
SEVERITY_SCORES = {
    'blur': (0.795, 0.652, 0.552),
    'pixelate': (0.715, 0.622, 0.521),
    'compression': (0.693, 0.619, 0.491),
    'noise': (0.533, 0.215, 0.103),
    'oversharpen': (0.747, 0.619, 0.482),
}
#: Share of the input's error above which a region is labelled with the input's type.
RESIDUE_SHARE = 0.5
#: Reduction factors of ``rescale`` and ``sharpen`` versions.
RESCALE_FACTORS = (2, 3, 4, 6, 8)
SHARPEN_FACTORS = (2, 3, 4)
#: (input type, introduced type) of the filtered versions.
RESIDUE_TYPES = {'denoise': ('noise', 'blur'), 'deblock': ('compression', 'blur'),
                 'sharpen': ('blur', 'oversharpen')}
#: Standard deviations ([0, 1] scale) of the light noise and grain versions.
LIGHT_LEVELS = (0.015, 0.025, 0.035, 0.05)
#: Whole-image version names, light noise and grain ones, and restoration-like ones.
WHOLE_VERSIONS = tuple(f'whole:{t}:{s}' for t in DISTORTION_TYPES for s in (1, 2, 3))
LIGHT_VERSIONS = tuple(f'light:{k}:{s:g}' for k in ('noise', 'grain') for s in LIGHT_LEVELS)
RESTORED_VERSIONS = (
    tuple(f'rescale:{m}:{f}' for m in restoration.INTERPOLATIONS for f in RESCALE_FACTORS)
    + tuple(f'{k}:{m}:{s}' for k in ('denoise', 'deblock') for m in restoration.FILTERS for s in (1, 2, 3))
    + tuple(f'sharpen:{f}:{s}' for f in SHARPEN_FACTORS for s in (1, 2, 3)))


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
    kind = name.partition(':')[0]
    if kind == 'whole':
        return _whole_version(name, clean, label_map, scorer, rng)
    if kind == 'light':
        return _light_version(name, clean, label_map, scorer, rng)
    if kind in ('rescale', 'denoise', 'deblock', 'sharpen'):
        return _restored_version(name, clean, label_map, scorer, rng)
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


def severity_from_score(kind: str, score: float) -> int:
    """Severity id (0 = clean) of a region of type ``kind`` from its score.

    Args:
        kind: A key of ``SEVERITY_SCORES``.
        score: Region score in [0, 1].

    Returns:
        0..3: ``clean`` above the midpoint of 1 and the minor mean, then the severity whose
        mean score is nearest.
    """
    means = (1.0,) + SEVERITY_SCORES[kind]
    bounds = [(a + b) / 2 for a, b in zip(means[:-1], means[1:])]
    return sum(score < bound for bound in bounds)


def _whole_version(name: str, clean: np.ndarray, label_map: np.ndarray, scorer,
                   rng: np.random.Generator) -> Version:
    _, kind, level = name.split(':')
    count = int(label_map.max()) + 1
    image = apply_distortion(clean, kind, int(level), seed=int(rng.integers(2 ** 31)))
    return Version(
        name=name,
        image=image,
        distortion=np.full(count, distortion_id(kind), np.int64),
        severity=np.full(count, int(level), np.int64),
        score=np.asarray(scorer(image, clean, label_map)),
        chains=[[(kind, int(level))] for _ in range(count)],
    )


def _light_version(name: str, clean: np.ndarray, label_map: np.ndarray, scorer,
                   rng: np.random.Generator) -> Version:
    _, kind, sigma = name.split(':')
    count = int(label_map.max()) + 1
    add = degradations.gaussian_noise if kind == 'noise' else degradations.film_grain
    work = add(clean.astype(np.float32) / np.float32(255.0), float(sigma), rng)
    image = (np.clip(work, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return Version(
        name=name,
        image=image,
        distortion=np.full(count, distortion_id('noise'), np.int64),
        severity=np.ones(count, np.int64),
        score=np.asarray(scorer(image, clean, label_map)),
        chains=[[('noise', 1)] for _ in range(count)],
    )


def _region_sums(values: np.ndarray, label_map: np.ndarray, count: int) -> np.ndarray:
    inside = label_map >= 0
    return np.bincount(label_map[inside], weights=values[inside], minlength=count)[:count]


def residue_share(output: np.ndarray, source: np.ndarray, clean: np.ndarray,
                  label_map: np.ndarray) -> np.ndarray:
    """Per region, the share ``rho`` of the input's error still present in the output.

    Args:
        output: The filter's output (HxWx3 uint8).
        source: The filter's input (HxWx3 uint8).
        clean: The clean image (HxWx3 uint8).
        label_map: int32 HxW label map.

    Returns:
        float array, one value per region (1 where the input equals the clean image).
    """
    count = int(label_map.max()) + 1
    e_in = source.astype(np.float64) - clean
    e_out = output.astype(np.float64) - clean
    dot = _region_sums((e_out * e_in).sum(axis=2), label_map, count)
    energy = _region_sums((e_in * e_in).sum(axis=2), label_map, count)
    return np.where(energy > 1e-6, dot / np.maximum(energy, 1e-6), 1.0)


def _restored_version(name: str, clean: np.ndarray, label_map: np.ndarray, scorer,
                      rng: np.random.Generator) -> Version:
    kind, method, level = name.split(':')
    count = int(label_map.max()) + 1
    if kind == 'rescale':
        image = restoration.rescale(clean, float(level), method)
        types = ['pixelate' if method == 'nearest' else 'blur'] * count
    else:
        if kind == 'sharpen':
            source = restoration.rescale(clean, float(method), 'bicubic')
            image = restoration.sharpen_upscaled(clean, float(method), int(level))
        else:
            source = restoration.restoration_input(clean, kind, int(level), rng)
            image = restoration.restore(source, kind, method, int(level))
        residue, introduced = RESIDUE_TYPES[kind]
        share = residue_share(image, source, clean, label_map)
        types = [residue if rho >= RESIDUE_SHARE else introduced for rho in share]
    score = np.asarray(scorer(image, clean, label_map))
    severity = np.array([severity_from_score(t, s) for t, s in zip(types, score)], np.int64)
    distortion = np.array([distortion_id(t) if v else 0 for t, v in zip(types, severity)], np.int64)
    return Version(
        name=name,
        image=image,
        distortion=distortion,
        severity=severity,
        score=score,
        chains=[[(t, int(v))] if v else [] for t, v in zip(types, severity)],
    )
