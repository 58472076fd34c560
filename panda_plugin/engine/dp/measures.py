"""Distortion and perception measures of sample sets: exact and sliced Wasserstein-2."""
from __future__ import annotations

import numpy as np
import torch

from panda_plugin.core.errors import PandaInputError


def wasserstein2(a, b) -> float:
    """Exact W2 between two equally weighted point clouds of the same size (assignment).

    Args:
        a: (N, D) points.
        b: (N, D) points.

    Returns:
        ``sqrt(min over matchings of mean squared distance)``.
    """
    from scipy.optimize import linear_sum_assignment

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise PandaInputError(f'point clouds {a.shape} and {b.shape}; accepted: two (N, D) arrays of one shape')
    cost = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    rows, cols = linear_sum_assignment(cost)
    return float(np.sqrt(cost[rows, cols].mean()))


def sliced_wasserstein2(a, b, projections: int = 256, seed: int = 0) -> float:
    """Sliced W2 between two point clouds (any sizes): mean over random directions.

    Args:
        a: (N, D) points.
        b: (M, D) points.
        projections: Number of random unit directions.
        seed: Seed of the directions.

    Returns:
        ``sqrt(mean over directions of W2^2 of the 1-D projections)``.
    """
    a, b = torch.as_tensor(np.asarray(a), dtype=torch.float64), torch.as_tensor(np.asarray(b), dtype=torch.float64)
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1]:
        raise PandaInputError(f'point clouds {tuple(a.shape)} and {tuple(b.shape)}; accepted: (N, D) and (M, D)')
    g = torch.Generator().manual_seed(seed)
    directions = torch.randn(a.shape[1], projections, generator=g, dtype=torch.float64)
    directions /= directions.norm(dim=0, keepdim=True)
    pa, pb = (a @ directions).sort(0).values, (b @ directions).sort(0).values
    quantiles = torch.linspace(0, 1, max(len(pa), len(pb)), dtype=torch.float64)
    qa = torch.quantile(pa, quantiles, dim=0) if len(pa) != len(quantiles) else pa
    qb = torch.quantile(pb, quantiles, dim=0) if len(pb) != len(quantiles) else pb
    return float(((qa - qb) ** 2).mean().sqrt())


def image_patches(image: torch.Tensor, size: int = 8, stride: int = 4) -> torch.Tensor:
    """All ``size`` x ``size`` patches of a C x H x W image at ``stride``, as rows.

    Args:
        image: C x H x W tensor.
        size: Patch side.
        stride: Step between patches.

    Returns:
        (P, C * size * size) tensor.
    """
    patches = torch.nn.functional.unfold(image[None].double(), size, stride=stride)
    return patches[0].T
