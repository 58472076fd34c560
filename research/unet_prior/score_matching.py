"""Denoising score matching on the sampler's VP schedule (the training loss of ``ScoreUNet``)."""
from __future__ import annotations

import torch
from torch import nn

from panda_plugin.engine.dp.schedule import vp_schedule


class DenoisingScoreLoss(nn.Module):
    """Mean squared error of the predicted noise at a uniformly drawn level per image.

    ``x_k = sqrt(abar_k) x0 + sqrt(1 - abar_k) e`` with ``abar_k`` one of the levels of
    ``vp_schedule(steps)``; the loss is ``|net(x_k, abar_k) - e|^2`` averaged over pixels and
    images (the epsilon form of denoising score matching).

    Args:
        steps: Levels of the discrete VP schedule to draw from. Default 1000 (DDPM's linear
            schedule, the sampler's at 1000 steps).
        loss_weight: Factor on the loss. Default 1.
    """

    def __init__(self, steps: int = 1000, loss_weight: float = 1.0):
        super().__init__()
        self.register_buffer('levels', vp_schedule(steps).alpha_bars.float(), persistent=False)
        self.loss_weight = float(loss_weight)

    def forward(self, net, x0: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The loss of ``net`` on clean images.

        Args:
            net: Noise predictor ``(x, abar) -> e_hat``.
            x0: B x C x H x W clean images in [-1, 1].
            generator: Optional CPU generator (fixed levels and noise, e.g. for validation).

        Returns:
            The scalar loss.
        """
        index = torch.randint(len(self.levels), (x0.shape[0],), generator=generator)
        abar = self.levels[index].to(x0)
        noise = torch.randn(x0.shape, generator=generator, dtype=x0.dtype).to(x0.device)
        scale = abar[:, None, None, None]
        noisy = scale.sqrt() * x0 + (1 - scale).sqrt() * noise
        return self.loss_weight * (net(noisy, abar) - noise).pow(2).mean()
