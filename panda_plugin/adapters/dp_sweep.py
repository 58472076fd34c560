"""``panda dp-sweep``: a lambda sweep of the variance-scaled diffusion, written to a folder.

Writes ``sweep.json`` (per method and image: psnr, mse, patch_sw2, niqe; means; per-region
PANDA summaries), ``dp_curve.png``, ``images/<image>_<method>.png`` and
``regions_<image>.png`` (where perception is gained and fidelity lost between the lambda
ends).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from panda_plugin.core.errors import PandaInputError

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


def read_images(specs, size: int) -> list:
    """(name, size x size uint8 image) for paths, folders or ``bundled:bench``."""
    from panda_plugin.engine.data.bundled import bundled_images
    from panda_plugin.engine.image_io import list_images, load_image, square_crop

    images = []
    for spec in specs:
        if str(spec).startswith('bundled:'):
            images += [(n, square_crop(im, size)) for n, im in bundled_images(str(spec).split(':', 1)[1])]
            continue
        path = Path(spec)
        paths = list_images(path) if path.is_dir() else [path]
        images += [(p.stem, square_crop(load_image(p, convert=True), size)) for p in paths]
    if not images:
        raise PandaInputError(f'no images in {", ".join(map(str, specs))}')
    return images


def run(images, settings, out, prior=None, regions: str = 'grid:4x4', progress=print) -> dict:
    """Run the sweep and write everything to ``out``.

    Args:
        images: List of (name, HxWx3 uint8 image).
        settings: ``engine.diffusion.sweep.SweepSettings``.
        out: Output folder.
        prior: Image score model (default: the shipped patch prior).
        regions: ``grid:RxC`` fixed regions of the per-region graphs, or ``none``.
        progress: Callable for progress lines.

    Returns:
        The report written to ``out/sweep.json``.
    """
    from panda_plugin.engine.diffusion.patch_prior import load_patch_prior
    from panda_plugin.engine.diffusion.sweep import run_sweep
    from panda_plugin.engine.image_io import save_image

    out = Path(out)
    (out / 'images').mkdir(parents=True, exist_ok=True)
    prior = prior or load_patch_prior()
    niqe = niqe_measure()
    large = min(min(image.shape[:2]) for _, image in images) >= NIQE_MIN_SIDE
    extra = {'niqe': niqe} if niqe and large else {}
    start = time.perf_counter()
    result = run_sweep(images, prior, settings, extra, progress)
    report = result.report
    report['seconds'] = time.perf_counter() - start
    report['prior'] = type(prior).__name__
    for name, seen in result.images.items():
        for method, image in seen.items():
            if isinstance(image, np.ndarray):
                save_image(out / 'images' / f'{name}_{method}.png', image)
    methods = [m for m in report['runs'] if m.startswith('lambda=')]
    if regions != 'none' and len(methods) >= 2:
        report['regions'] = region_report(result.images, methods, regions, out, progress)
    plot_curves(report, out / 'dp_curve.png')
    (out / 'sweep.json').write_text(json.dumps(finite(report), indent=1), encoding='utf-8')
    return report


def region_report(images: dict, methods: list, regions: str, out: Path, progress) -> dict:
    """Per-region PANDA summaries of the lambda ends for every image (and their pictures)."""
    from panda_plugin.engine.diffusion.region_dp import grid_labels, region_graphs, summarise
    from panda_plugin.engine.predictor import compare, resolve_model

    try:
        rows, cols = (int(v) for v in regions.split(':', 1)[1].split('x'))
    except (IndexError, ValueError):
        raise PandaInputError(f'regions {regions!r}; accepted: grid:RxC (e.g. grid:4x4) or none') from None
    model = resolve_model()
    low, high = methods[0], methods[-1]
    report = {}
    for name, seen in images.items():
        labels = grid_labels(*seen['reference'].shape[:2], rows, cols)
        outputs = {m: seen[m] for m in methods}
        graphs = region_graphs(outputs, seen['reference'], labels, low, compare, model)
        summary = summarise(graphs, outputs, seen['reference'], labels, low, high)
        summary['graphs'] = {m: {'vs_reference_score': g['vs_reference'].anchor_score,
                                 'vs_low_relation': g['vs_base'].relation} for m, g in graphs.items()}
        for m, g in graphs.items():
            g['vs_reference'].to_json(out / 'images' / f'{name}_{m}_vs_reference.json')
            g['vs_base'].to_json(out / 'images' / f'{name}_{m}_vs_{low}.json')
        plot_regions(seen, summary, labels, out / f'regions_{name}.png')
        report[name] = summary
        kinds = ', '.join(f'{k}: gain {v["perceptual_gain"]:+.3f}, MSE {v["fidelity_loss"]:+.5f}'
                          for k, v in summary['by_kind'].items())
        progress(f'{name} regions {low} -> {high}: {kinds}')
    return report


def plot_curves(report: dict, path: Path) -> None:
    """Distortion (MSE, PSNR) against each perception measure, lambdas and baselines."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    perception = [m for m in report['measures'] if m not in ('psnr', 'mse')]
    fig, axes = plt.subplots(1, len(perception), figsize=(5 * len(perception), 4), squeeze=False)
    for ax, measure in zip(axes[0], perception):
        for prefix, style, label in (('lambda=', 'o-', 'variance-scaled'), ('average=', 's--', 'average of N'),
                                     ('deterministic', 'k^', 'deterministic')):
            runs = [(m, r['mean']) for m, r in report['runs'].items() if m.startswith(prefix)]
            if not runs:
                continue
            ax.plot([r[measure] for _, r in runs], [r['psnr'] for _, r in runs], style, label=label)
            for m, r in runs:
                ax.annotate(m.split('=')[-1], (r[measure], r['psnr']), fontsize=7)
        ax.set_xlabel(f'{measure} (lower: closer to natural images)')
        ax.set_ylabel('PSNR (dB)')
        ax.legend(fontsize=7)
    fig.suptitle(f"{report['settings']['degradation']}: mean over {len(report['measurement_psnr'])} images")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_regions(seen: dict, summary: dict, labels: np.ndarray, path: Path) -> None:
    """Reference, the two lambda ends, and per-region PANDA gain and MSE loss maps."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    gain = np.zeros(labels.shape)
    loss = np.zeros(labels.shape)
    for r in summary['regions']:
        gain[labels == r['id']] = r['perceptual_gain']
        loss[labels == r['id']] = r['fidelity_loss']
    panels = [('reference', seen['reference']), ('measurement', seen['measurement']),
              (summary['low'], seen[summary['low']]), (summary['high'], seen[summary['high']])]
    fig, axes = plt.subplots(1, 6, figsize=(19, 3.4))
    for ax, (title, image) in zip(axes, panels):
        ax.imshow(image)
        ax.set_title(title)
    g = max(abs(gain).max(), 1e-6)
    for ax, data, title, cmap, lim in ((axes[4], gain, 'PANDA score gain', 'RdYlGn', (-g, g)),
                                       (axes[5], loss, 'MSE increase', 'Reds', (0, max(loss.max(), 1e-9)))):
        shown = ax.imshow(data, cmap=cmap, vmin=lim[0], vmax=lim[1])
        fig.colorbar(shown, ax=ax, fraction=0.046)
        ax.set_title(f'{title} ({summary["low"]} -> {summary["high"]})', fontsize=8)
    for ax in axes:
        ax.axis('off')
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
