"""The confusion matrices of ``panda bench`` as one picture."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from panda_plugin.core.atomic import atomic_path
from panda_plugin.core.taxonomy import DISTORTIONS, RELATIONS, SEVERITIES


def plot_confusion(confusion: dict, path: str | os.PathLike, title: str = '') -> Path:
    """Row-normalised confusion matrices of relation, distortion and severity in one PNG.

    Args:
        confusion: ``run_bench(...)['confusion']``.
        path: Destination PNG.
        title: Figure title. Default: none.

    Returns:
        The written path.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    names = {'relation': RELATIONS, 'distortion': DISTORTIONS, 'severity': SEVERITIES}
    figure, axes = plt.subplots(1, 3, figsize=(19, 6.5), gridspec_kw={'width_ratios': [5, 15, 4]})
    for ax, (field, matrix) in zip(axes, confusion.items()):
        matrix = np.asarray(matrix, float)
        shares = matrix / matrix.sum(1, keepdims=True).clip(min=1)
        ax.imshow(shares, cmap='Blues', vmin=0, vmax=1)
        ticks = range(len(names[field]))
        ax.set_xticks(ticks, names[field], rotation=60, ha='right', fontsize=8)
        ax.set_yticks(ticks, names[field], fontsize=8)
        ax.set_xlabel('predicted')
        ax.set_ylabel('label')
        ax.set_title(field)
        for row, col in zip(*np.nonzero(matrix)):
            ax.text(col, row, f'{shares[row, col]:.2f}', ha='center', va='center', fontsize=6,
                    color='white' if shares[row, col] > 0.5 else 'black')
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    with atomic_path(path, 'confusion picture') as temporary:
        figure.savefig(temporary, dpi=110, format=Path(path).suffix[1:] or 'png')
    plt.close(figure)
    return Path(path)
