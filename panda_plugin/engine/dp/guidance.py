"""Conditional scores from an unconditional score model: diffusion posterior sampling (DPS)."""
from __future__ import annotations

import torch

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.dp.score import ScoreModel, tweedie

#: How the conditional score is obtained: ``exact`` (closed form, where the prior and the
#: operator allow it: the patch mixture with denoising, or with x``f`` SR when ``f`` divides
#: its patch side), ``dps``, or ``auto`` (exact where possible, DPS otherwise).
CONDITIONINGS = ('auto', 'exact', 'dps')


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


def resolve_conditioning(prior, degradation, conditioning: str = 'auto') -> str:
    """``exact`` or ``dps``: what ``conditioning`` means for this prior and degradation.

    Args:
        prior: The image score model.
        degradation: The ``Degradation``.
        conditioning: One of ``CONDITIONINGS``.

    Returns:
        ``'exact'`` or ``'dps'``.
    """
    if conditioning not in CONDITIONINGS:
        raise PandaInputError(f'conditioning {conditioning!r}; accepted: {", ".join(CONDITIONINGS)}')
    exact = hasattr(prior, 'posterior_factor') and prior.posterior_factor(degradation) is not None
    if conditioning == 'exact' and not exact:
        raise PandaInputError(f'conditioning exact with prior {getattr(prior, "name", type(prior).__name__)!r} '
                              f'and degradation {degradation.spec!r}; accepted: a patch mixture prior with '
                              'noise:SIGMA, or with sr:F where F divides its patch side; or conditioning dps or auto')
    return 'exact' if exact and conditioning != 'dps' else 'dps'


def conditional_score(prior, degradation, y: torch.Tensor, schedule, conditioning: str = 'auto',
                      scale: float = 1.0) -> ScoreModel:
    """The conditional score ``s(x_k | y)`` the sampler follows.

    Args:
        prior: Unconditional image score model.
        degradation: The operator and noise that produced ``y``.
        y: The measurement.
        schedule: The ``VPSchedule`` (for DPS's stability bound).
        conditioning: One of ``CONDITIONINGS``.
        scale: DPS guidance weight (the exact score has none).

    Returns:
        A score model ``(x, abar) -> score``.
    """
    if resolve_conditioning(prior, degradation, conditioning) == 'exact':
        return prior.posterior_score(y, degradation)
    return DPSScore(prior, degradation.operator, y, degradation.noise, scale,
                    min_variance=stable_variance(degradation.operator, schedule))
