"""``panda dp-sweep``: a lambda sweep of the variance-scaled diffusion, written to a folder.

Writes ``sweep.json`` (per method and image: psnr, mse, patch_sw2, niqe, panda_fd; means; per-region
PANDA summaries with each region's fidelity and texture at every lambda), ``dp_curve.png``,
``dp_plane.png`` (every region on the distortion-perception plane, one trajectory per region
along lambda), ``images/<image>_<method>.png`` and ``regions_<image>.png`` (where perception
is gained and fidelity lost between the lambda ends).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from panda_plugin.adapters.cli.arguments import set_handler
from panda_plugin.adapters.pictures.dp import plot_curves, plot_plane, plot_regions
from panda_plugin.core.atomic import prepare_folder, write_atomic
from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.specs import grid_shape

#: What each measure of a sweep says (``sweep.json``'s ``measure_notes``, ``panda dp-sweep --help``).
MEASURE_NOTES = {
    'psnr': 'fidelity: PSNR against the reference in dB; higher is closer',
    'mse': 'fidelity: mean squared error against the reference, images in [0, 1]; lower is closer',
    'patch_sw2': 'perception: sliced Wasserstein-2 distance between the 8x8 patch distributions of the output '
                 'and of the reference; lower means texture statistics closer to the reference',
    'niqe': "perception: BasicSR's NIQE of the output alone (no reference; sides of 192 px or more); "
            'lower is more natural',
    'panda_fd': "perception: Frechet distance between PANDA's encoder features (one 128-D token per 8x8 block "
                'of the 256 px input) of the outputs and of the references; per image one image each, in "mean" '
                'pooled over all images; lower is closer; a patch-level FD, not comparable with FID',
    'seconds': 'wall time of the restoration in seconds',
}


#: Reverse steps from which the lambda = 1 end gives up PSNR for better patch_sw2 and panda_fd
#: than lambda = 0.5, by degradation kind: measured at noise:0.2 (6x6 mixture), sr:4 (8x8
#: mixture), blur:2 (DPS, guidance 3) on four held-out photographs at 128 px
#: (docs/record/dp/steps_needed.md). Below it the lambda = 1 end can be worse on every measure.
TRADEOFF_STEPS = {'noise': 400, 'sr': 50, 'blur': 50}


def steps_warning(settings) -> str | None:
    """One line when the sweep reaches lambda = 1 with fewer steps than ``TRADEOFF_STEPS``.

    Args:
        settings: The sweep (``engine.dp.sweep.SweepSettings``).

    Returns:
        The warning, or None.
    """
    kind = settings.degradation.split(':', 1)[0]
    needed = TRADEOFF_STEPS.get(kind)
    reaches_one = max(settings.lambdas) == 1 or bool(settings.averages)
    if needed is None or settings.steps >= needed or not reaches_one:
        return None
    return (f'{settings.steps} steps: {kind} sweeps need {needed} or more for the lambda = 1 end to trade PSNR for '
            'better patch_sw2 and panda_fd than lambda = 0.5 (docs/record/dp/steps_needed.md); with fewer it can '
            f'be worse on every measure, so read it with care or use --steps {needed}')


#: Smallest side at which BasicSR's NIQE is computed (it needs two 96 x 96 blocks or more).
NIQE_MIN_SIDE = 192


def niqe_measure():
    """BasicSR's NIQE (offline, ships its parameters) as ``f(restored, reference)``, or None.

    NIQE needs sides of at least ``NIQE_MIN_SIDE``; smaller sweeps leave it out.
    """
    try:
        from basicsr.metrics.niqe import calculate_niqe
    except ImportError:
        return None

    def niqe(restored: np.ndarray, reference: np.ndarray) -> float:
        try:
            return float(calculate_niqe(restored[:, :, ::-1].astype(np.float64), 0, input_order='HWC',
                                        convert_to='y'))
        except np.linalg.LinAlgError:  # degenerate block statistics (e.g. a flat image)
            return float('nan')

    return niqe


def finite(value):
    """A copy of a JSON-ready value with NaN and infinities replaced by None."""
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def run(images, settings, out, prior=None, regions: str = 'grid:4x4', progress=None, tensorboard=None,
        bar: bool = False) -> dict:
    """Run the sweep and write everything to ``out``.

    Args:
        images: List of (name, HxWx3 uint8 image).
        settings: ``engine.dp.sweep.SweepSettings``.
        out: Output folder.
        prior: Image score model (default: ``priors.load_prior()``, the shipped patch prior).
        regions: ``grid:RxC`` fixed regions of the per-region graphs, or ``none``.
        progress: Callable for progress lines (default: this module's logger, at INFO).
        tensorboard: Optional TensorBoard log folder.
        bar: Show a progress bar of the reverse steps, with the time left, on stderr (give
            ``tqdm.write`` as ``progress`` so that the lines do not break it).

    Returns:
        The report written to ``out/sweep.json``.
    """
    from panda_plugin.engine.dp.priors import load_prior
    from panda_plugin.engine.dp.sweep import add_panda_fd, run_sweep, sweep_steps
    from panda_plugin.engine.image_io import save_image

    progress = progress or logging.getLogger(__name__).info
    out = Path(out)
    prepare_folder(out / 'images', 'output folder')
    prior = prior or load_prior()
    large = min(min(image.shape[:2]) for _, image in images) >= NIQE_MIN_SIDE
    niqe = niqe_measure() if large else None  # BasicSR is imported only when NIQE applies
    extra = {'niqe': niqe} if niqe else {}
    start = time.perf_counter()
    with tqdm(total=sweep_steps(settings, len(images)), unit='step', desc='restoring', disable=not bar,
              dynamic_ncols=True) as steps:
        result = run_sweep(images, prior, settings, extra, progress, on_step=steps.update)
    progress(f'PANDA measures of {len(images) * len(result.report["runs"])} restorations')
    add_panda_fd(result)
    report = result.report
    report['measure_notes'] = {key: MEASURE_NOTES[key] for key in (*report['measures'], 'seconds')}
    report['warnings'] = [text for text in [steps_warning(settings)] if text]
    report['seconds'] = time.perf_counter() - start
    report['prior'] = getattr(prior, 'name', type(prior).__name__)
    for name, seen in result.images.items():
        for method, image in seen.items():
            if isinstance(image, np.ndarray):
                save_image(out / 'images' / f'{name}_{method}.png', image)
    methods = [m for m in report['runs'] if m.startswith('lambda=')]
    if regions != 'none' and len(methods) >= 2:
        report['regions'] = region_report(result.images, methods, regions, out, progress)
        plot_plane(report['regions'], methods, out / 'dp_plane.png')
    plot_curves(report, out / 'dp_curve.png')
    write_atomic(out / 'sweep.json', json.dumps(finite(report), indent=1), 'sweep JSON')
    if tensorboard:
        from torch.utils.tensorboard import SummaryWriter

        from panda_plugin.adapters.tensorboard import GraphBoard

        with SummaryWriter(str(tensorboard)) as writer:
            GraphBoard().write_sweep(writer, report, result.images)
    return report


def region_report(images: dict, methods: list, regions: str, out: Path, progress) -> dict:
    """Per-region PANDA summaries of the lambda ends for every image (and their pictures), with
    each region's fidelity and texture at every lambda."""
    from panda_plugin.engine.dp.region_dp import plane_points, region_graphs, summarise
    from panda_plugin.engine.panda.predictor import compare, resolve_model
    from panda_plugin.engine.regions import GridSegmenter

    grid = grid_shape(regions)
    if grid is None:
        raise PandaInputError(f'regions {regions!r}; accepted: grid:RxC (e.g. grid:4x4) or none')
    model = resolve_model()
    low, high = methods[0], methods[-1]
    report = {}
    for name, seen in images.items():
        labels = GridSegmenter(*grid)(seen['reference'])
        outputs = {m: seen[m] for m in methods}
        graphs = region_graphs(outputs, seen['reference'], labels, low, compare, model)
        plane = plane_points(outputs, seen['reference'], labels)
        summary = summarise(graphs, outputs, seen['reference'], labels, low, high, plane)
        summary['graphs'] = {m: {'vs_reference_score': g['vs_reference'].anchor_score,
                                 'vs_low_relation': g['vs_base'].relation} for m, g in graphs.items()}
        for m, g in graphs.items():
            g['vs_reference'].to_json(out / 'images' / f'{name}_{m}_vs_reference.json')
            g['vs_base'].to_json(out / 'images' / f'{name}_{m}_vs_{low}.json')
        plot_regions(seen, summary, labels, out / f'regions_{name}.png')
        report[name] = summary
        kinds = ', '.join(f'{k}: gain {v["perceptual_gain"]:+.3f}, MSE {v["fidelity_loss"]:+.5f}, '
                          f'texture {v["texture"][low]:.3f} -> {v["texture"][high]:.3f}'
                          for k, v in summary['by_kind'].items())
        progress(f'{name} regions {low} -> {high}: {kinds}')
    return report


#: Largest side of the centre crops (a 2048 x 2048 sweep already takes hours on a CPU).
MAX_SIZE = 2048


def _floats(text: str) -> tuple:
    try:
        return tuple(float(v) for v in text.split(',') if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not a comma-separated list of numbers') from None


def measures_help() -> str:
    """The ``--help`` epilog: what each measure of ``sweep.json`` says, and the steps needed."""
    lines = ['measures (sweep.json "measure_notes"):']
    lines += [textwrap.fill(note, 96, initial_indent=f'  {name:<10} ', subsequent_indent=' ' * 13)
              for name, note in MEASURE_NOTES.items()]
    lines += ['', textwrap.fill('the lambda = 1 end trades PSNR for perception with ' + ', '.join(
        f'{steps} steps or more for {kind}' for kind, steps in TRADEOFF_STEPS.items())
        + ' (docs/record/dp/steps_needed.md); fewer give a warning', 98)]
    return '\n'.join(lines)


def add_parser(commands) -> None:
    """Add the ``dp-sweep`` sub-command to the ``panda`` parser's sub-parsers."""
    parser = commands.add_parser(
        'dp-sweep', help='restore degraded images along the distortion-perception tradeoff (lambda)',
        description='Variance-scaled reverse diffusion (docs/dp.md): writes '
                    'OUT/sweep.json, OUT/dp_curve.png, restored images and per-region PANDA maps.',
        epilog=measures_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('images', nargs='+', help='images or folders, or bundled:bench (held out)')
    parser.add_argument('--degrade', help='noise:SIGMA, blur:SIGMA[:NOISE] or sr:FACTOR[:NOISE] on [-1, 1] images')
    parser.add_argument('--lambdas', type=_floats, help='e.g. 0,0.5,1')
    parser.add_argument('--size', type=int, help='side of the centre crops (default 128)')
    parser.add_argument('--steps', type=int, help='reverse diffusion steps (default 100; see below for the lambda = 1 end)')
    parser.add_argument('--average', type=_floats, help='N of the averaging baseline, e.g. 1,4,16')
    parser.add_argument('--deterministic', action='store_true', help='add deterministic (DDIM) sampling')
    parser.add_argument('--scale', type=float, help='DPS guidance weight (default 1; 3 suits blur)')
    parser.add_argument('--conditioning',
                        help='conditional score: exact (a patch mixture with noise:SIGMA, or with sr:F when F '
                             'divides its patch side, e.g. gmm8 with sr:4), dps, or auto (default: exact where '
                             'possible, dps otherwise)')
    parser.add_argument('--regions', help='fixed regions of the graphs (grid:RxC or none)')
    parser.add_argument('--prior',
                        help='image prior: gmm (default, the shipped 6x6 patch mixture), gmm8 (8x8, exact for '
                             'sr:4), gmm:PATH.npz or PATH.npz')
    parser.add_argument('--tensorboard', help='also log scalars, images and region tables to this folder')
    parser.add_argument('--seed', type=int)
    parser.add_argument('--out', required=True, help='output folder')
    set_handler(parser, dp_sweep_command)


def dp_sweep_command(images, *, out, degrade: str = 'noise:0.1', lambdas: tuple = (0.0, 0.5, 1.0), size: int = 128,
                     steps: int = 100, average: tuple = (), deterministic: bool = False, scale: float = 1.0,
                     conditioning: str = 'auto', regions: str = 'grid:4x4', prior: str = 'gmm', tensorboard=None,
                     seed: int = 0) -> int:
    """Run ``panda dp-sweep``: restore degraded images along lambda, write everything to ``out``.

    Args:
        images: Images or folders, or ``bundled:bench``.
        out: Output folder.
        degrade: ``noise:SIGMA``, ``blur:SIGMA[:NOISE]`` or ``sr:FACTOR[:NOISE]``.
        lambdas: The lambdas swept.
        size: Side of the centre crops.
        steps: Reverse diffusion steps.
        average: N of the averaging baseline (e.g. ``(1, 4, 16)``).
        deterministic: Add deterministic (DDIM) sampling.
        scale: DPS guidance weight.
        conditioning: ``exact``, ``dps`` or ``auto``.
        regions: Fixed regions of the graphs (``grid:RxC`` or ``none``).
        prior: Image prior (``gmm``, ``gmm8``, ``gmm:PATH.npz`` or ``PATH.npz``).
        tensorboard: Also log scalars, images and region tables to this folder.
        seed: Random seed.

    Returns:
        Exit status 0.
    """
    from panda_plugin.engine.data.reference_images import read_images
    from panda_plugin.engine.dp.guidance import resolve_conditioning
    from panda_plugin.engine.dp.operators import parse_degradation
    from panda_plugin.engine.dp.priors import load_prior
    from panda_plugin.engine.dp.sweep import SweepSettings, method_names, sweep_steps

    if not 32 <= size <= MAX_SIZE:
        raise PandaInputError(f'--size {size}; accepted: an integer in [32, {MAX_SIZE}]')
    if seed < 0:
        raise PandaInputError(f'--seed {seed}; accepted: an integer >= 0')
    settings = SweepSettings(degrade, lambdas, steps, seed, average, deterministic, scale, conditioning)
    settings.check()
    warning = steps_warning(settings)
    if warning:
        print(f'panda dp-sweep: warning: {warning}', file=sys.stderr)
    print(f'loading the prior ({prior}) and the images', flush=True)
    model = load_prior(prior, seed)
    resolve_conditioning(model, parse_degradation(degrade), conditioning)  # before anything is written
    pictures = read_images(images, size)
    print(f'{len(pictures)} images of {size} px, {len(method_names(settings))} restorations each, '
          f'{sweep_steps(settings, len(pictures))} reverse steps in all')
    report = run(pictures, settings, out, model, regions, progress=tqdm.write, tensorboard=tensorboard, bar=True)
    for method, run_ in report['runs'].items():
        mean = run_['mean']
        print(f'{method:>14}: ' + ', '.join(f'{k} {v:.4g}' for k, v in mean.items()))
    print(f'wrote {Path(out) / "sweep.json"} ({report["seconds"]:.0f} s)')
    return 0

