"""Conditional scores from an unconditional score model: diffusion posterior sampling (DPS)."""
from __future__ import annotations

import torch

from panda_plugin.engine.diffusion.score import ScoreModel, tweedie


class DPSScore:
    """``grad log p_k(x | y) ~ s(x) + scale * grad_x log N(y; A x0_hat(x), v_k I)``.

    ``x0_hat`` is Tweedie's estimate from the prior score, and the gradient passes through it
    (as in DPS, Chung et al. 2022). The likelihood variance ``v_k = sigma_y^2 + rho^2 g
    (1 - abar) / abar`` adds the uncertainty of ``x0_hat`` (seen through ``A``, with
    ``A A^T ~ g I``; ``g`` is the operator's ``gain``, 1 if it has none) to the measurement
    noise, so the guidance is weak at high noise levels and tends to the exact likelihood at
    level 0.

    Args:
        prior: Unconditional score model ``(x, abar) -> score``.
        operator: Linear measurement operator ``A`` (a callable on tensors).
        y: The measurement.
        noise: Measurement noise standard deviation ``sigma_y``.
        scale: Guidance weight (1: the likelihood as written).
        rho: Weight of the ``x0_hat`` uncertainty in ``v_k``. Default 1.
        min_variance: Lower bound of ``v_k``; ``stable_variance`` gives the bound that keeps
            the explicit steps of an ill-conditioned operator (blur) from diverging.
    """

    def __init__(self, prior: ScoreModel, operator, y: torch.Tensor, noise: float,
                 scale: float = 1.0, rho: float = 1.0, min_variance: float = 0.0):
        self.prior, self.operator, self.y = prior, operator, y
        self.noise, self.scale, self.rho = float(noise), float(scale), float(rho)
        self.min_variance = float(min_variance)

    def __call__(self, x: torch.Tensor, abar: float) -> torch.Tensor:
        abar = float(abar)
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            s = self.prior(x, abar)
            residual = self.y - self.operator(tweedie(x, s, abar))
            gain = float(getattr(self.operator, 'gain', 1.0))
            variance = max(self.noise ** 2 + self.rho ** 2 * gain * (1 - abar) / abar, self.min_variance)
            log_likelihood = -(residual ** 2).sum() / (2 * variance)
            (grad,) = torch.autograd.grad(log_likelihood, x)
        return s.detach() + self.scale * grad


def stable_variance(operator, schedule, margin: float = 2.0) -> float:
    """The smallest likelihood variance for which a guided step with the smallest beta is
    stable: explicit steps of size ``beta_1`` on ``|| y - A x ||^2 / (2 v)`` need
    ``v > beta_1 ||A^T A|| / 2``; ``margin`` times that bound is returned.

    Args:
        operator: The measurement operator (its ``norm2``, default 1).
        schedule: The ``VPSchedule`` the sampler runs.
        margin: Safety factor over the bound. Default 2.

    Returns:
        The bound.
    """
    return margin * float(schedule.betas[0]) * float(getattr(operator, 'norm2', 1.0)) / 2
