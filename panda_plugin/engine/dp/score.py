"""The score-model interface the sampler calls: any callable ``(x, abar) -> score``.

A score model returns ``grad_x log p_k(x)`` of the diffused density at the noise level with
cumulative signal factor ``abar`` (``x = sqrt(abar) x0 + sqrt(1 - abar) e``). Networks that
predict the noise ``e`` are wrapped by ``EpsScore``; exact priors (``mixture``) and guided
scores (``guidance``) implement the same call.
"""
from __future__ import annotations

from typing import Callable, Protocol

import torch


class ScoreModel(Protocol):
    """Anything with ``__call__(x, abar) -> score`` of the same shape as ``x``."""

    def __call__(self, x: torch.Tensor, abar: float) -> torch.Tensor: ...


class EpsScore:
    """A noise-prediction network as a score model: ``score = -eps(x, abar) / sqrt(1 - abar)``.

    Args:
        eps: Callable ``(x, abar_tensor) -> predicted noise``; ``abar_tensor`` has shape (B,).
    """

    def __init__(self, eps: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]):
        self.eps = eps

    def __call__(self, x: torch.Tensor, abar: float) -> torch.Tensor:
        level = torch.full((x.shape[0],), float(abar), dtype=x.dtype, device=x.device)
        return -self.eps(x, level) / (1 - float(abar)) ** 0.5


def tweedie(x: torch.Tensor, score: torch.Tensor, abar: float) -> torch.Tensor:
    """Tweedie's posterior-mean estimate ``E[x0 | x_k] = (x + (1 - abar) score) / sqrt(abar)``.

    Args:
        x: Noisy sample at level ``abar``.
        score: The score at ``x``.
        abar: Cumulative signal factor of the level.

    Returns:
        The estimate of the clean sample, shaped like ``x``.
    """
    abar = float(abar)
    return (x + (1 - abar) * score) / abar ** 0.5
