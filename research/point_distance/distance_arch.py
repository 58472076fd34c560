"""``PointDistanceNet``: a learnable pixel-to-click distance (point-supervised panoptic
pseudo-labels with anchor queries, after Li, Fan and Zhang, ECCV 2024).

An image (with two coordinate channels) goes through a small convolutional encoder-decoder
that gives pixel features ``F`` at the working resolution. Each click becomes an **anchor
query**: the features at the click, a Fourier encoding of its position and a thing/stuff
embedding. The **distance branch** lets every query attend to the pixel features (cross-attention,
over features pooled 4x4) and then scores every pixel against it: distance = minus the scaled dot
product of projected query and pixel features, plus a learned multiple of the image-plane
distance to the click. Each refinement round then **aggregates** (pixels are soft-assigned to
queries by a softmax over minus their distances, and each query takes the weighted mean of its
pixels' features) and **enhances** (self-attention between the queries), and the distance
branch runs again. Every pixel joins the query at the smallest distance.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from panda_plugin.engine.points.models.encoder import PixelEncoder, coordinate_channels, working_size


class PointDistanceNet(nn.Module):
    """Pixel-to-click distances for up to ``max_clicks`` clicks per image.

    Args:
        width: Channels of the first encoder level. Default: 24.
        dim: Feature and query dimension. Default: 64.
        heads: Attention heads. Default: 4.
        rounds: Refinement rounds after the first distance prediction. Default: 2.
        aggregate: Refine queries by soft-assigned feature averaging. Default: True.
        enhance: Refine queries by self-attention between them. Default: True.
        max_clicks: Most clicks per image. Default: 64.
        input_size: Long side of the working resolution (images are resized to it, sides
            rounded to multiples of 8). Default: 128.
        geodesic_prior: Add a learned multiple of the geodesic distance of
            ``geodesic.geodesic_distances`` (given to ``forward`` as ``prior``) to the learned
            distance. Default: False (the paper's model).
    """

    def __init__(self, width: int = 24, dim: int = 64, heads: int = 4, rounds: int = 2,
                 aggregate: bool = True, enhance: bool = True, max_clicks: int = 64, input_size: int = 128,
                 geodesic_prior: bool = False):
        super().__init__()
        self.config = dict(width=width, dim=dim, heads=heads, rounds=rounds, aggregate=aggregate,
                           enhance=enhance, max_clicks=max_clicks, input_size=input_size,
                           geodesic_prior=geodesic_prior)
        self.geodesic_prior = geodesic_prior
        if geodesic_prior:
            self.log_prior = nn.Parameter(torch.tensor(math.log(5.0)))
        self.rounds, self.aggregate, self.enhance = rounds, aggregate, enhance
        self.max_clicks, self.input_size, self.dim = max_clicks, input_size, dim
        self.encoder = PixelEncoder(width, dim)
        self.frequencies = nn.Parameter(torch.randn(2, dim // 4) * 3.0, requires_grad=False)
        self.kind = nn.Embedding(2, dim)
        self.init_query = nn.Sequential(nn.Linear(dim + dim // 2, dim), nn.GELU(), nn.Linear(dim, dim))
        self.cross = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.cross_norm = nn.LayerNorm(dim)
        self.query_proj = nn.Linear(dim, dim)
        self.pixel_proj = nn.Conv2d(dim, dim, 1)
        self.log_scale = nn.Parameter(torch.tensor(0.0))
        self.log_spatial = nn.Parameter(torch.tensor(1.0))
        self.value_proj = nn.Conv2d(dim, dim, 1)
        self.aggregate_mlp = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, dim))
        self.self_attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.enhance_norm = nn.LayerNorm(dim)
        self.enhance_ffn = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def working_size(self, height: int, width: int) -> tuple[int, int]:
        """(height, width) of the working resolution for an image of this size."""
        return working_size(height, width, self.input_size)

    def forward(self, images: torch.Tensor, points: torch.Tensor, valid: torch.Tensor,
                stuff: torch.Tensor | None = None, rounds: int | None = None,
                prior: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Distances of every pixel to every click, after each round.

        Args:
            images: Bx3xHxW in [0, 1], already at the working resolution.
            points: BxKx2 float (x, y) clicks in pixels of ``images``.
            valid: BxK bool, False for padding clicks.
            stuff: BxK bool (clicks on stuff), or None (all things).
            rounds: Refinement rounds (default: the network's own).
            prior: BxKxHxW geodesic distances; required when built with ``geodesic_prior``.

        Returns:
            ``rounds + 1`` tensors BxKxHxW (padding clicks at +inf), first to last round.
        """
        batch, _, height, width = images.shape
        rounds = self.rounds if rounds is None else rounds
        # Positions in units of the working size, so that crops and whole images agree.
        unit = 2.0 / self.input_size
        coords = coordinate_channels(images, self.input_size)
        features = self.encoder(torch.cat([(images - 0.5) / 0.25, coords], 1))
        grid = torch.stack([points[..., 0] / max(width - 1, 1), points[..., 1] / max(height - 1, 1)], -1) * 2 - 1
        sampled = F.grid_sample(features, grid[:, :, None], align_corners=True)[..., 0].transpose(1, 2)
        position = points * unit - 1
        angles = position @ self.frequencies
        kinds = torch.zeros_like(valid, dtype=torch.long) if stuff is None else stuff.long()
        queries = self.init_query(torch.cat([sampled, angles.sin(), angles.cos()], -1)) + self.kind(kinds)
        pixels = F.avg_pool2d(features, 4, ceil_mode=True).flatten(2).transpose(1, 2)  # tokens at 1/4
        keys = self.pixel_proj(features).flatten(2)  # BxDxN
        values = self.value_proj(features).flatten(2).transpose(1, 2)
        offsets = coords.flatten(2).transpose(1, 2)  # BxNx2
        spatial = torch.cdist(position, offsets) / (2 * math.sqrt(2))  # BxKxN, 1 = working diagonal
        if self.geodesic_prior:
            if prior is None:
                raise ValueError('this PointDistanceNet needs prior= geodesic distances')
            spatial = spatial * self.log_spatial.exp() * 10 + self.log_prior.exp() * prior.flatten(2)
        else:
            spatial = spatial * self.log_spatial.exp() * 10
        outputs = []
        for round_index in range(rounds + 1):
            if round_index:
                queries = self._refine(queries, distances, values, valid)
            distances = self._distances(queries, pixels, keys, spatial, valid)
            outputs.append(distances.view(batch, -1, height, width))
        return outputs

    def _distances(self, queries, pixels, keys, spatial, valid) -> torch.Tensor:
        attended, _ = self.cross(queries, pixels, pixels, need_weights=False)
        context = self.cross_norm(queries + attended)
        similarity = torch.bmm(self.query_proj(context), keys) / math.sqrt(self.dim)
        distances = -similarity * self.log_scale.exp() + spatial
        return distances.masked_fill(~valid[..., None], float('inf'))

    def _refine(self, queries, distances, values, valid) -> torch.Tensor:
        if self.aggregate:
            weights = torch.softmax(-distances, 1)  # soft assignment of pixels to queries
            weights = weights.masked_fill(~valid[..., None], 0)
            pooled = torch.bmm(weights, values) / weights.sum(-1, keepdim=True).clamp_min(1e-6)
            queries = queries + self.aggregate_mlp(pooled)
        if self.enhance:
            attended, _ = self.self_attention(queries, queries, queries, key_padding_mask=~valid, need_weights=False)
            queries = self.enhance_norm(queries + attended)
            queries = queries + self.enhance_ffn(queries)
        return queries
