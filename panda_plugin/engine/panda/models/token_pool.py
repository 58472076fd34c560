"""Token pool: binds learnable tokens to region masks and pools image features per region."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def region_masks(label_map: torch.Tensor, count: int, grid: tuple[int, int]) -> torch.Tensor:
    """Soft region masks on the feature grid: the share of each cell covered by each region.

    Counts pixels per (region, cell) with one ``bincount``, so memory stays proportional to the
    image, not to image x regions; a region smaller than a cell still gets a share.

    Args:
        label_map: BxHxW int64 label map (-1 outside regions).
        count: Number of region slots R.
        grid: (h, w) of the feature grid.

    Returns:
        BxRxhxw float masks.
    """
    batch, height, width = label_map.shape
    device = label_map.device
    cells = grid[0] * grid[1]
    cell = ((torch.arange(height, device=device) * grid[0] // height)[:, None] * grid[1]
            + torch.arange(width, device=device) * grid[1] // width)
    slots = count * cells
    valid = (label_map >= 0) & (label_map < count)
    # pixels outside the regions are counted in one extra slot, dropped after counting
    index = torch.where(valid, label_map * cells + cell + torch.arange(batch, device=device)[:, None, None] * slots,
                        batch * slots)
    counts = torch.bincount(index.reshape(-1), minlength=batch * slots + 1)[:-1].float()
    per_cell = (height / grid[0]) * (width / grid[1])
    return (counts / per_cell).view(batch, count, grid[0], grid[1])


def coarser_masks(masks: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor | None:
    """``region_masks`` on a coarser grid from the masks of a grid each of whose sides is a whole
    multiple of the coarser one's: the mean of each block of cells (a coarse cell holds exactly
    the pixels of its block; the same shares up to float rounding).

    Args:
        masks: BxRxHxW masks (``region_masks``).
        grid: (h, w) of the coarser grid.

    Returns:
        BxRxhxw masks, or None when the grids do not nest.
    """
    height, width = masks.shape[-2:]
    if height % grid[0] or width % grid[1]:
        return None
    return F.avg_pool2d(masks, (height // grid[0], width // grid[1]))


class TokenPool(nn.Module):
    """Each region gets a learnable token map; token x mask -> conv gives a spatial gate on
    (a narrow projection of) the image features, which are pooled over the region together
    with the region's plain feature mean and standard deviation.

    Token ``i`` goes to region ``i``. During training the assignment is a random permutation
    (so that no token learns a region index); at evaluation it is the identity, which keeps
    inference deterministic.

    Args:
        dim: Feature channels.
        tokens: Number of learnable tokens (maximum regions). Default: 128.
        grid: Side of the token maps. Default: 32.
        gate_dim: Channels of the gated features. Default: 32.
    """

    def __init__(self, dim: int, tokens: int = 128, grid: int = 32, gate_dim: int = 32):
        super().__init__()
        self.tokens = nn.Parameter(torch.randn(tokens, 1, grid, grid) * 0.02)
        self.embed = nn.Conv2d(1, gate_dim, 3, padding=1)
        self.gate_features = nn.Conv2d(dim, gate_dim, 1)
        self.project = nn.Sequential(nn.Linear(gate_dim + 2 * dim, dim), nn.LayerNorm(dim))

    def forward(self, features: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """Pool region vectors.

        Args:
            features: BxDxhxw image features.
            masks: bxRxhxw soft region masks, ``b`` dividing ``B``: image ``i`` takes the masks
                ``i mod b`` (a batch of pairs gives its masks once for both images; their gates
                are then made once).

        Returns:
            BxRxD region vectors.
        """
        batch, count, height, width = masks.shape
        if count > len(self.tokens):
            raise ValueError(f'{count} regions exceed the token pool of {len(self.tokens)}')
        if self.training:
            order = torch.randperm(len(self.tokens), device=masks.device)[:count]
        else:
            order = torch.arange(count, device=masks.device)
        tokens = F.interpolate(self.tokens[order], size=(height, width), mode='bilinear',
                               align_corners=False)
        gates = self.embed((tokens.unsqueeze(0) * masks.unsqueeze(2)).flatten(0, 1))
        cells = height * width
        weights = masks / masks.flatten(2).sum(-1).clamp(min=1e-6)[..., None, None]
        # the features as (repeats, b, ...): each group of b images shares the masks
        features = features.view(-1, batch, *features.shape[1:])
        # each region's weighted gates (b x gate channel x R x cells), made once for the images
        # sharing the masks, times every image's gated features: one batched matrix product
        # (many times faster on CPU than products summed over the cells)
        weighted = (gates.view(batch, count, -1, cells) * weights.view(batch, count, 1, cells)).transpose(1, 2)
        gated_features = self.gate_features(features.flatten(0, 1)).view(*features.shape[:2], -1, cells)
        gated = torch.matmul(weighted, gated_features.permute(1, 2, 3, 0)).permute(3, 0, 2, 1)
        mean = torch.einsum('brhw,kbdhw->kbrd', weights, features)
        square = torch.einsum('brhw,kbdhw->kbrd', weights, features * features)
        std = (square - mean * mean).clamp(min=1e-6).sqrt()
        return self.project(torch.cat([gated, mean, std], -1)).flatten(0, 1)
