"""Spatial quality maps: reference-mode region scores painted back onto the pixels (like
LPIPS' ``spatial=True``)."""
from __future__ import annotations

import torch


def score_map(region_scores: list, label_maps: torch.Tensor, dtype=None) -> torch.Tensor:
    """Paint each region's score onto its pixels.

    Args:
        region_scores: One 1-D tensor of region scores per image (``reference_fidelity``).
        label_maps: BxHxW int64 label maps (``-1`` outside regions).
        dtype: Dtype of the map. Default: that of the scores.

    Returns:
        Bx1xHxW map in [0, 1], differentiable in the scores; pixels outside every region are 1
        (nothing was measured there).
    """
    maps = []
    for scores, label_map in zip(region_scores, label_maps):
        scores = scores.to(label_map.device)
        if dtype is not None:
            scores = scores.to(dtype)
        inside = label_map >= 0
        values = scores[label_map.clamp(min=0)]
        maps.append(torch.where(inside, values, torch.ones_like(values)))
    return torch.stack(maps)[:, None]
