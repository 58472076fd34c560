"""Restoring one degraded image with a chosen lambda (and the averaging baseline)."""
from __future__ import annotations

import numpy as np
import torch

from panda_plugin.engine.dp.guidance import conditional_score
from panda_plugin.engine.dp.operators import Degradation
from panda_plugin.engine.dp.sampler import reverse_diffusion
from panda_plugin.engine.dp.schedule import vp_schedule
from panda_plugin.engine.tensors import rgb8_to_tensor


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 RGB -> 1x3xHxW float64 in [-1, 1]."""
    return rgb8_to_tensor(image, dtype=torch.float64, signed=True)[None]


def to_image(tensor: torch.Tensor) -> np.ndarray:
    """1x3xHxW (or 3xHxW) in [-1, 1] -> HxWx3 uint8 RGB (clipped)."""
    t = tensor.detach().reshape(-1, *tensor.shape[-2:])
    return ((t.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()


def measure(image: np.ndarray, degradation: Degradation, seed: int = 0) -> torch.Tensor:
    """The measurement ``y = A x + noise`` of an HxWx3 uint8 image (a 1 x 3 x h x w tensor)."""
    return degradation.measure(to_tensor(image), torch.Generator().manual_seed(seed))


def restore(prior, degradation: Degradation, y: torch.Tensor, shape, lam: float | torch.Tensor, steps: int,
            seed: int = 0, deterministic: bool = False, scale: float = 1.0, samples: int = 1,
            conditioning: str = 'auto', on_step=None) -> torch.Tensor:
    """Variance-scaled reverse diffusion towards ``y`` (exact conditional score or DPS).

    Args:
        prior: Unconditional image score model ``(x, abar) -> score``.
        degradation: The operator and noise that produced ``y``.
        y: The measurement, 1 x C x h x w.
        shape: Shape of the restored image, 1 x C x H x W.
        lam: Variance scale lambda in [0, 1], or a 1 x 1 x H x W map of them (one per pixel).
        steps: Reverse diffusion steps.
        seed: Seed of the start and the step noise.
        deterministic: DDIM sampling instead (ignores ``lam``).
        scale: DPS guidance weight.
        samples: Average this many independent restorations (the averaging baseline).
        conditioning: ``auto``, ``exact`` or ``dps`` (``guidance.CONDITIONINGS``).
        on_step: Called after each reverse step (``sampler.reverse_diffusion``).

    Returns:
        The restoration, 1 x C x H x W float64 in about [-1, 1].
    """
    schedule = vp_schedule(steps)
    ys = y.expand(samples, *y.shape[1:])
    score = conditional_score(prior, degradation, ys, schedule, conditioning, scale)
    g = torch.Generator().manual_seed(seed)
    start = torch.randn((samples, *tuple(shape)[1:]), generator=g, dtype=torch.float64).to(y.device)
    x0 = reverse_diffusion(score, start, schedule, lam, deterministic=deterministic, generator=g, on_step=on_step).x0
    return x0.mean(0, keepdim=True)
