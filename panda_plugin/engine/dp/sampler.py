"""The variance-scaled reverse diffusion (lambda) and deterministic (DDIM) sampling."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.dp.schedule import VPSchedule
from panda_plugin.engine.dp.score import ScoreModel, tweedie


@dataclass
class SampleResult:
    """End points and, optionally, the trajectory of a reverse diffusion.

    Attributes:
        x0: The end points, shaped like the start.
        trajectory: Recorded states ``x_k`` (first is ``x_K``, last is ``x0``), or empty.
        levels: The level k of each recorded state.
    """

    x0: torch.Tensor
    trajectory: list = field(default_factory=list)
    levels: list = field(default_factory=list)


def check_lambda(lam: float) -> float:
    """Return ``lam`` as a float, or raise ``PandaInputError`` unless 0 <= lam <= 1."""
    try:
        value = float(lam)
    except (TypeError, ValueError):
        value = float('nan')
    if not 0.0 <= value <= 1.0:
        raise PandaInputError(f'lambda {lam!r}; accepted: a number in [0, 1]')
    return value


def check_lambda_map(lam: torch.Tensor, shape) -> torch.Tensor:
    """Return ``lam`` if it is a lambda per pixel for images of ``shape``, or raise ``PandaInputError``.

    Args:
        lam: Tensor broadcastable to ``shape``, every value in [0, 1].
        shape: The images' shape (B x C x H x W).

    Returns:
        ``lam``.
    """
    try:
        fits = torch.broadcast_shapes(lam.shape, tuple(shape)) == tuple(shape)
    except RuntimeError:
        fits = False
    if not fits:
        raise PandaInputError(f'lambda map of shape {tuple(lam.shape)}; accepted: broadcastable to {tuple(shape)}')
    if not bool(((lam >= 0) & (lam <= 1)).all()):
        raise PandaInputError('lambda map with values outside [0, 1] (or NaN); accepted: values in [0, 1]')
    return lam


def reverse_diffusion(score: ScoreModel, x_T: torch.Tensor, schedule: VPSchedule, lam: float | torch.Tensor = 1.0,
                      *, deterministic: bool = False, generator: torch.Generator | None = None,
                      record_every: int = 0, on_step=None) -> SampleResult:
    """Run the reverse VP diffusion from ``x_T`` to level 0.

    Variance-scaled step (lambda in [0, 1]), level k -> k - 1:
    ``x_{k-1} = (x_k + beta_k s(x_k)) / sqrt(alpha_k) + sqrt(lambda beta_k) z`` (no noise at
    the last step). lambda = 1 is ancestral (posterior) sampling, lambda = 0 the noise-free
    chain whose end point is the MMSE estimate for a Gaussian posterior. ``deterministic``
    runs DDIM (eta = 0, the probability-flow map) instead and ignores ``lam``.

    Args:
        score: Conditional (or unconditional) score model ``(x, abar) -> score``.
        x_T: Starting noise, e.g. ``torch.randn``.
        schedule: The VP schedule.
        lam: Variance scale lambda in [0, 1], or a tensor of them broadcastable to ``x_T``
            (a lambda per pixel: a region-dependent tradeoff).
        deterministic: DDIM instead of the variance-scaled step.
        generator: Random generator for the step noise.
        record_every: Keep every n-th state for trajectories (0: none).
        on_step: Called with no arguments after each step (e.g. a progress bar's update).

    Returns:
        The end points (and trajectory).
    """
    lam = check_lambda_map(lam, x_T.shape).to(x_T) if torch.is_tensor(lam) else check_lambda(lam)
    adds_noise = bool((lam > 0).any()) if torch.is_tensor(lam) else lam > 0
    x = x_T.detach().clone()
    result = SampleResult(x)
    betas, alphas, abars = (t.tolist() for t in (schedule.betas, schedule.alphas, schedule.alpha_bars))
    for k in range(schedule.steps, 0, -1):
        if record_every and (schedule.steps - k) % record_every == 0:
            result.trajectory.append(x.detach().clone())
            result.levels.append(k)
        abar = abars[k - 1]
        s = score(x, abar).detach()
        if deterministic:
            abar_prev = abars[k - 2] if k > 1 else 1.0
            x0 = tweedie(x, s, abar)
            eps = -(1 - abar) ** 0.5 * s
            x = abar_prev ** 0.5 * x0 + (1 - abar_prev) ** 0.5 * eps
        else:
            x = (x + betas[k - 1] * s) / alphas[k - 1] ** 0.5
            if k > 1 and adds_noise:
                z = torch.randn(x.shape, generator=generator, dtype=x.dtype, device='cpu').to(x.device)
                x = x + (lam * betas[k - 1]) ** 0.5 * z
        if on_step is not None:
            on_step()
    result.x0 = x
    if record_every:
        result.trajectory.append(x.clone())
        result.levels.append(0)
    return result
