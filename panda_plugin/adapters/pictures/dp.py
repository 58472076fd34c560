"""Pictures of ``panda dp-sweep``: the distortion-perception curves, the regions on the
distortion-perception plane, and per-region maps of where perception is gained and fidelity
lost."""
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


def plot_plane(regions: dict, methods: list, path: Path) -> None:
    """Every region on the distortion-perception plane (x = 1 - fidelity, y = 1 - texture), one
    panel per image, one trajectory per region along lambda (busy regions orange, flat blue;
    a circle at the lowest lambda, a triangle at the highest)."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    colours = {'texture': 'tab:orange', 'flat': 'tab:blue'}
    fig, axes = plt.subplots(1, len(regions), figsize=(4.2 * len(regions), 4.2), squeeze=False)
    for ax, (name, summary) in zip(axes[0], regions.items()):
        for r in summary['regions']:
            x = [1 - r['fidelity'][m] for m in methods]
            y = [1 - r['texture'][m] for m in methods]
            ax.plot(x, y, '-', color=colours[r['kind']], alpha=0.55, linewidth=1)
            ax.plot(x[0], y[0], 'o', color=colours[r['kind']], markersize=4)
            ax.plot(x[-1], y[-1], '^', color=colours[r['kind']], markersize=5)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel('distortion: 1 - fidelity')
        ax.set_ylabel('perception: 1 - texture')
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
    handles = [plt.Line2D([], [], color=c, label=f'{"busy" if k == "texture" else "flat"} regions')
               for k, c in colours.items()]
    handles += [plt.Line2D([], [], marker='o', linestyle='', color='grey', label=methods[0]),
                plt.Line2D([], [], marker='^', linestyle='', color='grey', label=methods[-1])]
    fig.legend(handles=handles, loc='lower center', ncol=4, fontsize=8, frameon=False)
    fig.suptitle('Regions on the distortion-perception plane along lambda (0, 0 = the reference)', fontsize=11)
    fig.tight_layout(rect=(0, 0.07, 1, 0.95))
    with atomic_path(path, 'plane picture') as temporary:
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
