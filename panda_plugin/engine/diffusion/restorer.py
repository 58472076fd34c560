"""``DPRestorer``: the variance-scaled diffusion as a network (a BasicSR arch) with a fixed lambda."""
from __future__ import annotations

import torch
from torch import nn

from panda_plugin.engine.diffusion.operators import parse_degradation
from panda_plugin.engine.diffusion.restore import restore
from panda_plugin.engine.diffusion.sampler import check_lambda


class DPRestorer(nn.Module):
    """Restores measurements at one point of the distortion-perception tradeoff.

    ``forward`` takes BasicSR's ``lq`` (B x 3 x h x w in [0, 1], produced by the degradation
    ``degrade`` on [-1, 1] images) and returns the restoration in [0, 1] (x``factor`` larger for
    ``sr``). It has no trainable parameters: the prior is the patch mixture or a trained
    ``ScoreUNet`` (``prior``).

    Args:
        degrade: ``noise:SIGMA``, ``blur:SIGMA[:NOISE]`` or ``sr:FACTOR[:NOISE]``.
        lam: lambda in [0, 1] (0: MMSE end, 1: posterior sampling).
        steps: Reverse diffusion steps. Default 100.
        prior: Image prior: ``gmm`` (default), ``unet``, ``unet:PATH`` or a patch prior ``.npz``
            (``priors.load_prior``).
        seed: Seed of the sampler.
        deterministic: DDIM sampling instead of the variance-scaled step.
    """

    def __init__(self, degrade: str = 'noise:0.1', lam: float = 0.5, steps: int = 100, prior: str | None = None,
                 seed: int = 0, deterministic: bool = False):
        super().__init__()
        from panda_plugin.engine.diffusion.priors import load_prior

        self.degradation = parse_degradation(degrade)
        self.lam, self.steps, self.seed = check_lambda(lam), int(steps), int(seed)
        self.deterministic = bool(deterministic)
        self.prior = load_prior(prior, seed)

    def forward(self, lq: torch.Tensor) -> torch.Tensor:
        """Restore a batch of measurements (values in [0, 1])."""
        factor = getattr(self.degradation.operator, 'factor', 1)
        outputs = []
        for index, item in enumerate(lq.double() * 2 - 1):
            shape = (1, item.shape[0], item.shape[1] * factor, item.shape[2] * factor)
            out = restore(self.prior, self.degradation, item[None], shape, self.lam, self.steps,
                          self.seed + index, self.deterministic)
            outputs.append(out)
        return ((torch.cat(outputs) + 1) / 2).clamp(0, 1).to(lq.dtype)
