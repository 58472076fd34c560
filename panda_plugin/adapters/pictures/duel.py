"""Pictures of duels: A and B tinted by their region scores, and the reference coloured by
which of the two is better in each region."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from panda_plugin.core.atomic import atomic_path

#: Colours of the winner panel: A better, B better (a colour-blind-safe blue and orange).
WINNER_COLOURS = {'a': (0.0, 0.45, 0.70), 'b': (0.90, 0.62, 0.0)}


def render_duel(duel, image_a, image_b, reference) -> np.ndarray:
    """Draw a duel as an RGB picture of three panels.

    Args:
        duel: ``engine.panda.duel.Duel``.
        image_a: A's restored image (path, PIL image or HxWx3 uint8 array).
        image_b: B's restored image.
        reference: The reference.

    Returns:
        HxWx3 uint8 RGB picture.
    """
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from skimage.segmentation import find_boundaries

    from panda_plugin.engine.image_io import load_image

    images = [load_image(image, convert=True, name=name)
              for image, name in zip((image_a, image_b, reference), ('image_a', 'image_b', 'reference'))]
    label_map = duel.graph_a.label_map
    height, width = label_map.shape
    edges = find_boundaries(label_map, mode='inner') & (label_map >= 0)
    panel = 4.0
    fig = Figure(figsize=(3 * panel + 0.8, panel * height / width + 1.4), dpi=100)
    FigureCanvasAgg(fig)
    cmap = colormaps['RdYlGn']
    name_a, name_b = duel.names
    summary = duel.summary()
    verdict = ('the same quality' if duel.relation == 'same' else
               f'{name_a} is {duel.relation.replace("_", " ")} than {name_b}')
    fig.suptitle(f'{name_a} {duel.score_a:.3f} vs {name_b} {duel.score_b:.3f}: {verdict}\n'
                 f'{name_a} better on {100 * summary["a_better"]["area"]:.0f}% of the image, {name_b} on '
                 f'{100 * summary["b_better"]["area"]:.0f}%, tie on {100 * summary["tie"]["area"]:.0f}%',
                 fontsize=11)
    scores = {key: np.append([getattr(r, f'score_{key}') for r in duel.regions], 1.0) for key in ('a', 'b')}
    for column, (key, title) in enumerate((('a', name_a), ('b', name_b))):
        ax = fig.add_subplot(1, 3, column + 1)
        tint = cmap(scores[key][label_map])[..., :3]
        view = 0.65 * images[column] / 255 + 0.35 * tint
        view[edges] = 1.0
        ax.imshow(view)
        ax.set_title(f'{title}: {duel.score_a if key == "a" else duel.score_b:.3f} (red 0, green 1)', fontsize=9)
        ax.set_axis_off()
    ax = fig.add_subplot(1, 3, 3)
    colour = np.full((len(duel.regions) + 1, 3), 0.5)
    strength = np.zeros(len(duel.regions) + 1)
    for region in duel.regions:
        if region.winner != 'tie':
            colour[region.id] = WINNER_COLOURS[region.winner]
            strength[region.id] = min(1.0, 0.45 + abs(region.difference))
    grey = images[2].mean(-1, keepdims=True) / 255
    alpha = strength[label_map][..., None]
    view = (1 - alpha) * grey + alpha * colour[label_map]
    view[edges] = 1.0
    ax.imshow(view)
    for region in duel.regions:
        if region.winner != 'tie':
            x, y, w, h = region.bbox
            ax.text(x + w / 2, y + h / 2, f'{region.difference:+.2f}', fontsize=7, ha='center', va='center',
                    bbox={'boxstyle': 'round,pad=0.15', 'facecolor': 'white', 'alpha': 0.8, 'linewidth': 0})
    ax.set_title(f'reference: where each is better ({name_a} - {name_b})', fontsize=9)
    ax.set_axis_off()
    fig.legend(handles=[Patch(color=WINNER_COLOURS['a'], label=f'{name_a} better'),
                        Patch(color=WINNER_COLOURS['b'], label=f'{name_b} better'),
                        Patch(color=(0.5, 0.5, 0.5), label='tie (difference below 0.1)')],
               loc='lower center', ncol=3, fontsize=9, frameon=False)
    fig.subplots_adjust(left=0.01, right=0.99, top=0.83, bottom=0.1, wspace=0.04)
    fig.canvas.draw()
    return np.array(fig.canvas.buffer_rgba())[:, :, :3]


def save_duel_picture(duel, path: str | os.PathLike, image_a, image_b, reference) -> Path:
    """Write ``render_duel``'s picture as a PNG.

    Args:
        duel: ``engine.panda.duel.Duel``.
        path: Destination PNG path.
        image_a: A's restored image.
        image_b: B's restored image.
        reference: The reference.

    Returns:
        The written path.
    """
    from PIL import Image

    with atomic_path(path, 'duel picture') as temporary:
        Image.fromarray(render_duel(duel, image_a, image_b, reference)).save(temporary, format='PNG', optimize=True)
    return Path(path)
