"""``PanopticSegmenterNet``: a class-agnostic panoptic segmenter that needs no clicks.

The second stage of point-supervised panoptic segmentation: trained on the pseudo-labels that
a click method draws on the training scenes, it predicts for every pixel an embedding (pixels
of one instance close together, instances apart) and a boundary logit (the borders between
pseudo-instances). ``points.panoptic`` groups the embeddings into instances.
"""
from __future__ import annotations

import torch
from torch import nn

from panda_plugin.engine.points.models.encoder import PixelEncoder, coordinate_channels, working_size


class PanopticSegmenterNet(nn.Module):
    """Pixel embeddings and boundary logits at the working resolution.

    Args:
        width: Channels of the first encoder level. Default: 16.
        embed_dim: Dimension of the pixel embeddings. Default: 8.
        input_size: Long side of the working resolution (images are resized to it, sides
            rounded to multiples of 8). Default: 128.
    """

    def __init__(self, width: int = 16, embed_dim: int = 8, input_size: int = 128):
        super().__init__()
        self.config = dict(width=width, embed_dim=embed_dim, input_size=input_size)
        self.embed_dim, self.input_size = embed_dim, input_size
        self.encoder = PixelEncoder(width, embed_dim + 1)

    def working_size(self, height: int, width: int) -> tuple[int, int]:
        """(height, width) of the working resolution for an image of this size."""
        return working_size(height, width, self.input_size)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Embeddings and boundary logits.

        Args:
            images: Bx3xHxW in [0, 1], already at the working resolution.

        Returns:
            (BxExHxW embeddings, Bx1xHxW boundary logits).
        """
        coords = coordinate_channels(images, self.input_size)
        out = self.encoder(torch.cat([(images - 0.5) / 0.25, coords], 1))
        return out[:, :self.embed_dim], out[:, self.embed_dim:]
