"""Denoising score matching on the sampler's VP schedule (the training loss of ``ScoreUNet``)."""
from __future__ import annotations

import torch

from panda_plugin.engine.diffusion.schedule import vp_schedule

#: Steps of the discrete VP schedule whose levels training draws from (DDPM's linear schedule).
TRAIN_STEPS = 1000


def training_levels(steps: int = TRAIN_STEPS) -> torch.Tensor:
    """The cumulative signal factors ``abar_k``, k = 1..K, of ``vp_schedule(steps)`` (float32)."""
    return vp_schedule(steps).alpha_bars.float()


def dsm_loss(net, x0: torch.Tensor, levels: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Mean squared error of the predicted noise at a uniformly drawn level per image.

    ``x_k = sqrt(abar_k) x0 + sqrt(1 - abar_k) e``; the loss is ``|net(x_k, abar_k) - e|^2``
    averaged over pixels and images (the epsilon form of denoising score matching).

    Args:
        net: Noise predictor ``(x, abar) -> e_hat``.
        x0: B x C x H x W clean images in [-1, 1].
        levels: (K,) the schedule's ``abar_k`` to draw from.
        generator: Optional CPU generator (fixed levels and noise, e.g. for validation).

    Returns:
        The scalar loss.
    """
    b = x0.shape[0]
    index = torch.randint(len(levels), (b,), generator=generator)
    abar = levels[index].to(x0)
    noise = torch.randn(x0.shape, generator=generator, dtype=x0.dtype).to(x0.device)
    scale = abar[:, None, None, None]
    noisy = scale.sqrt() * x0 + (1 - scale).sqrt() * noise
    return (net(noisy, abar) - noise).pow(2).mean()
