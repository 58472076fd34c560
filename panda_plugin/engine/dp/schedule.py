"""The variance-preserving (VP) noise schedule, discretised into K steps."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from panda_plugin.core.errors import PandaInputError


@dataclass(frozen=True)
class VPSchedule:
    """Discrete VP diffusion ``x_k = sqrt(abar_k) x_0 + sqrt(1 - abar_k) e``, k = 1..K.

    Attributes:
        betas: (K,) float64 tensor, beta_k of step k (index k - 1).
        alphas: (K,) ``1 - betas``.
        alpha_bars: (K,) cumulative products of ``alphas``.
    """

    betas: torch.Tensor
    alphas: torch.Tensor
    alpha_bars: torch.Tensor

    @property
    def steps(self) -> int:
        """Number of reverse steps K."""
        return int(self.betas.numel())


def vp_schedule(steps: int = 1000, beta_min: float = 0.1, beta_max: float = 20.0) -> VPSchedule:
    """The VP-SDE schedule ``beta(t) = beta_min + t (beta_max - beta_min)`` in K steps.

    With K = 1000 this is DDPM's linear schedule (beta from 1e-4 to 0.02); fewer steps take
    larger ones so that the end point ``abar_K`` stays near ``exp(-10)``.

    Args:
        steps: K, at least 2.
        beta_min: beta(0) of the continuous schedule. Default 0.1.
        beta_max: beta(1). Default 20.

    Returns:
        The schedule.

    Raises:
        PandaInputError: steps below 2 or a non-increasing, negative beta range.
    """
    if int(steps) != steps or steps < 2:
        raise PandaInputError(f'diffusion steps {steps!r}; accepted: an integer >= 2')
    if not 0 < beta_min <= beta_max:
        raise PandaInputError(f'beta range ({beta_min}, {beta_max}); accepted: 0 < beta_min <= beta_max')
    t = torch.arange(1, steps + 1, dtype=torch.float64) / steps
    betas = ((beta_min + t * (beta_max - beta_min)) / steps).clamp(max=0.999)
    alphas = 1 - betas
    return VPSchedule(betas, alphas, torch.cumprod(alphas, 0))
