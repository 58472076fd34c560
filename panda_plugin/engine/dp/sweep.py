"""A lambda sweep over held-out images: PSNR, MSE, perception measures, per-region graphs."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.dp.guidance import CONDITIONINGS, resolve_conditioning
from panda_plugin.engine.dp.measures import image_patches, sliced_wasserstein2
from panda_plugin.engine.dp.operators import parse_degradation
from panda_plugin.engine.dp.restore import measure, restore, to_image, to_tensor
from panda_plugin.engine.dp.sampler import check_lambda


@dataclass
class SweepSettings:
    """What ``run_sweep`` does.

    Attributes:
        degradation: ``noise:SIGMA``, ``blur:SIGMA[:NOISE]`` or ``sr:FACTOR[:NOISE]``.
        lambdas: The lambdas, each in [0, 1].
        steps: Reverse diffusion steps per restoration.
        seed: Seed of measurements and samplers.
        averages: N of the averaging baseline (mean of N lambda = 1 samples); empty: none.
        deterministic: Add the deterministic (DDIM) restoration as a baseline.
        scale: DPS guidance weight.
        conditioning: ``auto`` (the exact conditional score where the prior has one for the
            degradation, DPS otherwise), ``exact`` or ``dps``.
    """

    degradation: str = 'noise:0.1'
    lambdas: tuple = (0.0, 0.5, 1.0)
    steps: int = 100
    seed: int = 0
    averages: tuple = ()
    deterministic: bool = False
    scale: float = 1.0
    conditioning: str = 'auto'

    def check(self) -> None:
        """Raise ``PandaInputError`` on a bad setting."""
        parse_degradation(self.degradation)
        if not self.lambdas:
            raise PandaInputError('no lambdas given; accepted: e.g. 0,0.5,1')
        self.lambdas = tuple(check_lambda(v) for v in self.lambdas)
        if int(self.steps) != self.steps or self.steps < 2:
            raise PandaInputError(f'steps {self.steps!r}; accepted: an integer >= 2')
        if not (isinstance(self.scale, (int, float)) and math.isfinite(self.scale) and self.scale > 0):
            raise PandaInputError(f'guidance scale {self.scale!r}; accepted: a finite number > 0')
        if any(not (math.isfinite(n) and n == int(n) and n >= 1) for n in self.averages):
            bad = next(n for n in self.averages if not (math.isfinite(n) and n == int(n) and n >= 1))
            raise PandaInputError(f'average {bad!r}; accepted: whole numbers >= 1 (e.g. 1,4,16)')
        self.averages = tuple(int(n) for n in self.averages)
        if self.conditioning not in CONDITIONINGS:
            raise PandaInputError(f'conditioning {self.conditioning!r}; accepted: {", ".join(CONDITIONINGS)}')


def psnr(restored: np.ndarray, reference: np.ndarray) -> float:
    """PSNR in dB of two uint8 images (peak 255)."""
    err = np.mean((restored.astype(np.float64) - reference.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(err, 1e-10)))


def base_measures(restored: np.ndarray, reference: np.ndarray) -> dict:
    """``psnr``, ``mse`` (images in [0, 1]) and ``patch_sw2``: sliced W2 between the 8x8
    patch distributions of the two images (lower is closer, a no-reference-free perception
    index in the sense of distributions)."""
    mse = float(np.mean((restored / 255.0 - reference / 255.0) ** 2))
    patches = [image_patches(to_tensor(im)[0] / 2 + 0.5, 8, 4) for im in (restored, reference)]
    return {'psnr': psnr(restored, reference), 'mse': mse,
            'patch_sw2': sliced_wasserstein2(patches[0], patches[1], 128)}


@dataclass
class SweepResult:
    """Outputs of ``run_sweep``.

    Attributes:
        report: JSON-ready dict: settings, ``runs`` (per method: per image and averaged measures).
        images: ``{image name: {'reference', 'measurement', method: uint8 image}}``.
    """

    report: dict
    images: dict = field(default_factory=dict)


def method_names(settings: SweepSettings) -> list:
    """Names of the runs: ``lambda=0.5``, ``average=N``, ``deterministic``."""
    names = [f'lambda={lam:g}' for lam in settings.lambdas]
    names += [f'average={n}' for n in settings.averages]
    return names + (['deterministic'] if settings.deterministic else [])


def sweep_steps(settings: SweepSettings, images: int) -> int:
    """Reverse steps a sweep runs in all (an averaging run of N samples counts N times).

    Args:
        settings: The sweep.
        images: Number of images.

    Returns:
        ``images`` times the steps of every restoration of one image.
    """
    return images * settings.steps * sum(int(name.split('=')[1]) if name.startswith('average=') else 1
                                         for name in method_names(settings))


def run_sweep(images, prior, settings: SweepSettings, extra_measures=None, progress=None,
              on_step=None) -> SweepResult:
    """Degrade each image, restore it at every lambda (and baselines), measure each output.

    Args:
        images: List of (name, HxWx3 uint8 reference image).
        prior: Image score model ``(x, abar) -> score`` on 1 x 3 x H x W in [-1, 1].
        settings: The sweep.
        extra_measures: ``{name: callable(restored uint8, reference uint8) -> float}`` added
            to ``psnr``, ``mse`` and ``patch_sw2`` (e.g. NIQE from an adapter).
        progress: Optional callable(text) for progress lines.
        on_step: Called after each reverse step (``sweep_steps`` calls in all; an averaging
            run of N samples calls it N times a step), e.g. a progress bar's update.

    Returns:
        The report and the images.
    """
    settings.check()
    degradation = parse_degradation(settings.degradation)
    extra_measures = dict(extra_measures or {})
    runs = {name: {'per_image': {}} for name in method_names(settings)}
    result = SweepResult({'settings': {**settings.__dict__, 'noise_scale': '[-1, 1] images'}, 'runs': runs,
                          'measures': ['psnr', 'mse', 'patch_sw2', *extra_measures],
                          'conditioning': resolve_conditioning(prior, degradation, settings.conditioning)})
    for index, (name, reference) in enumerate(images):
        x = to_tensor(reference)
        y = measure(reference, degradation, settings.seed + index)
        seen = result.images[name] = {'reference': reference}
        upsampled = getattr(degradation.operator, 'pseudo_inverse')(y)
        seen['measurement'] = to_image(upsampled)
        for method in runs:
            kind, _, value = method.partition('=')
            start = time.perf_counter()
            out = restore(prior, degradation, y, x.shape,
                          lam=float(value) if kind == 'lambda' else 1.0, steps=settings.steps,
                          seed=settings.seed + 1000 * index, deterministic=kind == 'deterministic',
                          scale=settings.scale, samples=int(value) if kind == 'average' else 1,
                          conditioning=settings.conditioning, on_step=_times(on_step, int(value))
                          if kind == 'average' else on_step)
            seconds = time.perf_counter() - start
            restored = to_image(out)
            seen[method] = restored
            row = base_measures(restored, reference)
            row.update({key: float(fn(restored, reference)) for key, fn in extra_measures.items()})
            row['seconds'] = seconds
            runs[method]['per_image'][name] = row
            if progress:
                progress(f'{name} {method}: ' + ', '.join(f'{k} {v:.4g}' for k, v in row.items()))
        seen['measurement_psnr'] = psnr(seen['measurement'], reference)
    add_means(result)
    result.report['measurement_psnr'] = {name: seen['measurement_psnr'] for name, seen in result.images.items()}
    return result


def _times(on_step, count: int):
    """``on_step`` called ``count`` times per call (None stays None)."""
    if on_step is None:
        return None
    return lambda: [on_step() for _ in range(count)]


def add_means(result: SweepResult) -> None:
    """Give every run of ``result`` a ``mean``: each measure averaged over its images (NaN ignored)."""
    for run in result.report['runs'].values():
        rows = list(run['per_image'].values())
        run['mean'] = {key: float(np.nanmean([r[key] for r in rows])) if any(np.isfinite([r[key] for r in rows]))
                       else float('nan') for key in rows[0]}


def add_panda_fd(result: SweepResult, model=None) -> None:
    """Add ``panda_fd`` (``feature_fd``) to every run of a sweep, in place.

    Per image: the Fréchet distance between the PANDA token features of the output and of its
    reference (a patch-level FD, one image's tokens each). In ``mean``: the FD between the
    tokens of all outputs of the run and of all references, pooled (not the mean of the
    per-image values).

    Args:
        result: A ``run_sweep`` result.
        model: PANDA network or weights name (default: ``panda-tiny``).
    """
    from panda_plugin.engine.dp.feature_fd import frechet_distance, panda_tokens

    names = list(result.images)
    references = {name: panda_tokens([result.images[name]['reference']], model) for name in names}
    for method, run in result.report['runs'].items():
        outputs = {name: panda_tokens([result.images[name][method]], model) for name in names}
        for name in names:
            run['per_image'][name]['panda_fd'] = frechet_distance(outputs[name], references[name])
        run['mean']['panda_fd'] = frechet_distance(np.concatenate(list(outputs.values())),
                                                   np.concatenate(list(references.values())))
    result.report['measures'].append('panda_fd')
