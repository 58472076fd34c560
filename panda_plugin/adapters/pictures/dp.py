"""Pictures of ``panda dp-sweep``: the distortion-perception curves, and per-region maps of where
perception is gained and fidelity lost."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from panda_plugin.core.atomic import atomic_path


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
    with atomic_path(path, 'sweep curve') as temporary:
        fig.savefig(temporary, dpi=90, format='png')
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
    with atomic_path(path, 'region picture') as temporary:
        fig.savefig(temporary, dpi=80, format='png')
    plt.close(fig)
