"""The 2-D experiments' data and learned prior: pinwheel samples and a small score MLP."""
from __future__ import annotations

import math

import torch
from torch import nn


def pinwheel(count: int, generator: torch.Generator | None = None, arms: int = 5,
             radial_std: float = 0.3, tangential_std: float = 0.1, rate: float = 0.25) -> torch.Tensor:
    """Samples of the pinwheel distribution (FFJORD's toy data, scaled by 2).

    Args:
        count: Number of points.
        generator: Random generator.
        arms: Number of arms. Default 5.
        radial_std: Radial standard deviation. Default 0.3.
        tangential_std: Tangential standard deviation. Default 0.1.
        rate: How fast an arm turns with the radius. Default 0.25.

    Returns:
        (count, 2) float64 points.
    """
    arm = torch.randint(arms, (count,), generator=generator)
    noise = torch.randn(count, 2, generator=generator, dtype=torch.float64) * torch.tensor(
        [radial_std, tangential_std], dtype=torch.float64)
    points = noise + torch.tensor([1.0, 0.0], dtype=torch.float64)
    angles = arm * 2 * math.pi / arms + rate * torch.exp(points[:, 0])
    cos, sin = angles.cos(), angles.sin()
    rotated = torch.stack([cos * points[:, 0] - sin * points[:, 1], sin * points[:, 0] + cos * points[:, 1]], 1)
    return 2 * rotated


class ScoreMLP(nn.Module):
    """Noise prediction ``eps(x, abar)`` for D-dimensional points: an MLP on x and log-SNR.

    Args:
        dim: Point dimension. Default 2.
        width: Hidden width. Default 128.
        depth: Hidden layers. Default 3.
    """

    def __init__(self, dim: int = 2, width: int = 128, depth: int = 3):
        super().__init__()
        layers, inputs = [], dim + 16
        for _ in range(depth):
            layers += [nn.Linear(inputs, width), nn.SiLU()]
            inputs = width
        self.net = nn.Sequential(*layers, nn.Linear(width, dim))
        self.register_buffer('frequencies', torch.exp(torch.linspace(0, math.log(100), 8)))

    def forward(self, x: torch.Tensor, abar: torch.Tensor) -> torch.Tensor:
        """Predicted noise for ``x`` (B, D) at levels ``abar`` (B,)."""
        log_snr = torch.log(abar / (1 - abar)).to(x.dtype)[:, None] / 10
        features = torch.cat([(log_snr * self.frequencies).sin(), (log_snr * self.frequencies).cos()], 1)
        return self.net(torch.cat([x, features], 1))


def train_score_mlp(data: torch.Tensor, steps: int = 4000, batch: int = 512, lr: float = 2e-3,
                    seed: int = 0, width: int = 128) -> ScoreMLP:
    """Fit a ``ScoreMLP`` by denoising score matching on VP levels ``abar`` in (1e-4, 0.9999).

    Args:
        data: (N, D) training points.
        steps: Optimiser steps. Default 4000.
        batch: Batch size. Default 512.
        lr: Adam learning rate (cosine decay). Default 2e-3.
        seed: Seed of the initialisation and batches.
        width: Hidden width. Default 128.

    Returns:
        The trained network (float32, eval mode).
    """
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    data = data.float()
    model = ScoreMLP(data.shape[1], width)
    optimiser = torch.optim.Adam(model.parameters(), lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)
    for _ in range(steps):
        x0 = data[torch.randint(len(data), (batch,), generator=g)]
        t = torch.rand(batch, generator=g)
        abar = torch.exp(-(0.1 * t + 0.5 * (20 - 0.1) * t ** 2)).clamp(1e-4, 0.9999)  # VP-SDE levels
        eps = torch.randn(x0.shape, generator=g)
        xt = abar.sqrt()[:, None] * x0 + (1 - abar).sqrt()[:, None] * eps
        loss = ((model(xt, abar) - eps) ** 2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
    return model.eval()
