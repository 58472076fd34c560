"""``ClickBoundaryNet``: object borders learned from clicks alone, as the cost of a click distance.

A small encoder-decoder (the pixel encoder of ``encoder``) gives one border logit per
pixel. The network never sees the clicks; trained with ``separation_loss.ClickSeparationLoss``
(every path between two different clicks must cross a border, wherever the clicks fall inside
their objects) it can only succeed by marking the borders between objects, and not the edges
inside a texture. The learned distance from a click to a pixel is the cheapest 8-connected path
over the step cost ``1 + cost_weight * b ** cost_power`` (``b`` the border probability, averaged
over the image and its flips); every pixel joins the nearest click (``learned.learned_regions``).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from panda_plugin.engine.points.models.encoder import PixelEncoder, coordinate_channels, working_size


class ClickBoundaryNet(nn.Module):
    """Border logits at the working resolution.

    Args:
        width: Channels of the first encoder level. Default: 16.
        input_size: Long side of the working resolution (images are resized to it, sides
            rounded to multiples of 8). Default: 128.
        cost_weight: Weight of the border probability in the step cost. Default: 1e5.
        cost_power: Exponent of the border probability in the step cost. Default: 3.
    """

    def __init__(self, width: int = 16, input_size: int = 128, cost_weight: float = 1e5, cost_power: float = 3.0):
        super().__init__()
        self.config = dict(width=width, input_size=input_size, cost_weight=cost_weight, cost_power=cost_power)
        self.input_size, self.cost_weight, self.cost_power = input_size, cost_weight, cost_power
        self.encoder = PixelEncoder(width, 1)

    def working_size(self, height: int, width: int) -> tuple[int, int]:
        """(height, width) of the working resolution for an image of this size."""
        return working_size(height, width, self.input_size)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Border logits.

        Args:
            images: Bx3xHxW in [0, 1], already at the working resolution.

        Returns:
            Bx1xHxW logits.
        """
        coords = coordinate_channels(images, self.input_size)
        return self.encoder(torch.cat([(images - 0.5) / 0.25, coords], 1))

    def probability(self, images: torch.Tensor) -> torch.Tensor:
        """Border probabilities averaged over the image and its three flips (the network is
        trained with flips; the average is symmetric and steadier).

        Args:
            images: Bx3xHxW in [0, 1], already at the working resolution.

        Returns:
            BxHxW probabilities.
        """
        total = 0
        for dims in ((), (-1,), (-2,), (-2, -1)):
            flipped = images.flip(dims) if dims else images
            border = torch.sigmoid(self(flipped))[:, 0]
            total = total + (border.flip(dims) if dims else border)
        return total / 4

    def step_cost(self, probability: np.ndarray) -> np.ndarray:
        """Step cost of the click distance.

        Args:
            probability: HxW border probabilities.

        Returns:
            float64 HxW costs, at least 1.
        """
        return 1.0 + self.cost_weight * np.asarray(probability, np.float64) ** self.cost_power
