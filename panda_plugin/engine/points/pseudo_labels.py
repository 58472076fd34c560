"""Pseudo-labels: the click regions of every scene of a points database, saved as one file.

They are the only targets of the class-agnostic panoptic segmenter (``panoptic_arch``): the
regions that a click method (``geodesic`` by default, the best one) draws from the scenes'
clicks. The dense ground truth of the database is never read here.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from panda_plugin.core.atomic import atomic_path
from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.points.clicks import Clicks
from panda_plugin.engine.points.points_data import PointsReader
from panda_plugin.engine.points.proposer import METHODS, click_regions


def make_pseudo_labels(data, out, method: str = 'geodesic', progress: bool = True) -> Path:
    """Write the click regions of every scene of ``data`` to ``out`` (``.npz``).

    Args:
        data: A points database folder (``panda make-points-data``) or a list of them.
        out: Destination ``.npz`` path (written atomically).
        method: Click method, one of ``points.METHODS``. Default: ``'geodesic'``.
        progress: Show a progress bar. Default: True.

    Returns:
        The written path. The file holds ``keys`` (scene keys, in order), ``labels`` (NxHxW
        uint8 click indices) and ``method``.
    """
    out = Path(out)
    if out.suffix != '.npz':
        raise PandaInputError(f'pseudo-label output {str(out)!r}; accepted: a .npz path')
    if method not in METHODS:
        raise PandaInputError(f'click method {method!r}; accepted: {", ".join(METHODS)}')
    reader = PointsReader(data)
    positions = range(len(reader))
    if progress:
        from tqdm import tqdm

        positions = tqdm(positions, desc=f'{method} pseudo-labels', unit='scene')
    keys, maps = [], []
    for position in positions:
        scene = reader.read(position)
        if len(scene['points']) > 255:
            raise PandaInputError(f'scene {scene["key"]} has {len(scene["points"])} clicks; at most 255 fit')
        clicks = Clicks(scene['points'], tuple('stuff' if s else 'thing' for s in scene['stuff']))
        keys.append(scene['key'])
        maps.append(click_regions(scene['image'], clicks, method).astype(np.uint8))
    with atomic_path(out, 'pseudo-label file') as temporary, open(temporary, 'wb') as handle:
        np.savez_compressed(handle, keys=np.array(keys), labels=np.stack(maps), method=np.array(method))
    return out


def read_pseudo_labels(path) -> dict:
    """Pseudo-label maps by scene key.

    Args:
        path: A ``.npz`` file from ``make_pseudo_labels``.

    Returns:
        ``{key: HxW int64 click indices}``.
    """
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys, labels = archive['keys'], archive['labels']
    except (OSError, KeyError, ValueError) as error:
        raise PandaInputError(f'cannot read pseudo-labels {str(path)!r} ({error}); make them with '
                              '`panda make-pseudo-labels`') from None
    return {str(key): label_map.astype(np.int64) for key, label_map in zip(keys, labels)}


def renumber_to_clicks(pseudo, points, valid):
    """Pseudo-label maps renumbered to the clicks that a batch kept (after crops).

    A crop drops the clicks outside it, so the scene's click indices no longer match the
    batch's. Each kept click reads its scene index at its own pixel (a click lies in its own
    region); regions of dropped clicks become -1.

    Args:
        pseudo: BxHxW int64 scene click indices (``PointsDataset`` item ``pseudo``).
        points: BxKx2 (x, y) clicks of the batch, in pixels of ``pseudo``.
        valid: BxK bool, False for padding clicks.

    Returns:
        BxHxW int64: batch click index of every pixel, -1 where its click is not in the batch.
    """
    import torch

    batch, count = valid.shape
    x = points[..., 0].round().long().clamp(0, pseudo.shape[-1] - 1)
    y = points[..., 1].round().long().clamp(0, pseudo.shape[-2] - 1)
    index = torch.arange(batch, device=pseudo.device)[:, None].expand(batch, count)
    scene_ids = pseudo[index, y, x]  # BxK
    table = pseudo.new_full((batch, int(pseudo.max()) + 1), -1)
    order = torch.arange(count, device=pseudo.device).expand(batch, count)
    table[index[valid], scene_ids[valid]] = order[valid]
    return torch.gather(table, 1, pseudo.flatten(1)).view_as(pseudo)
