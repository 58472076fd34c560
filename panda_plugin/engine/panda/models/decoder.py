"""Degradation decoder: region tokens attend within their image and across to the other."""
from __future__ import annotations

import torch
from torch import nn


class DecoderBlock(nn.Module):
    """Self-attention among one image's regions, cross-attention to the other image's regions,
    and a feed-forward layer (pre-norm residual).

    Args:
        dim: Token width.
        heads: Attention heads. Default: 4.
        ffn_ratio: Hidden width of the feed-forward layer over ``dim``. Default: 2.
    """

    def __init__(self, dim: int, heads: int = 4, ffn_ratio: int = 2):
        super().__init__()
        self.norm_self = nn.LayerNorm(dim)
        self.self_attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm_query = nn.LayerNorm(dim)
        self.norm_other = nn.LayerNorm(dim)
        self.cross_attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm_ffn = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn_ratio * dim), nn.GELU(), nn.Linear(ffn_ratio * dim, dim))

    def forward(self, tokens: torch.Tensor, other: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        """Update one image's region tokens.

        Args:
            tokens: BxRxD tokens of this image.
            other: BxRxD tokens of the other image.
            padding: BxR bool, True for empty region slots.

        Returns:
            Updated BxRxD tokens.
        """
        x = self.norm_self(tokens)
        tokens = tokens + self.self_attention(x, x, x, key_padding_mask=padding, need_weights=False)[0]
        x, y = self.norm_query(tokens), self.norm_other(other)
        tokens = tokens + self.cross_attention(x, y, y, key_padding_mask=padding, need_weights=False)[0]
        return tokens + self.ffn(self.norm_ffn(tokens))


class DegradationDecoder(nn.Module):
    """L decoder blocks applied to both images with shared weights, so swapping the images
    swaps the outputs exactly.

    Args:
        dim: Token width.
        blocks: Number of blocks L. Default: 2.
        heads: Attention heads. Default: 4.
        ffn_ratio: Feed-forward width ratio. Default: 2.
    """

    def __init__(self, dim: int, blocks: int = 2, heads: int = 4, ffn_ratio: int = 2):
        super().__init__()
        self.blocks = nn.ModuleList(DecoderBlock(dim, heads, ffn_ratio) for _ in range(blocks))

    def forward(self, anchor: torch.Tensor, target: torch.Tensor,
                padding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Decode both images' region tokens.

        Args:
            anchor: BxRxD anchor region tokens.
            target: BxRxD target region tokens.
            padding: BxR bool, True for empty region slots.

        Returns:
            (anchor tokens, target tokens), each BxRxD.
        """
        for block in self.blocks:
            anchor, target = block(anchor, target, padding), block(target, anchor, padding)
        return anchor, target
