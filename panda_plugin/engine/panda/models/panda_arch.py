"""Arch ``PANDA``: (anchor, target, shared regions) -> per-region predictions."""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from panda_plugin.engine.panda.models.decoder import DegradationDecoder
from panda_plugin.engine.panda.models.encoder import MultiScaleEncoder
from panda_plugin.engine.panda.models.heads import PandaHeads
from panda_plugin.engine.panda.models.region_statistics import RegionStatistics
from panda_plugin.engine.panda.models.token_pool import TokenPool, coarser_masks, region_masks


class PairEncoding(NamedTuple):
    """What ``PANDA.encode`` reads from a batch of pairs before the regions are known.

    Attributes:
        features: 2BxDxhxw encoder features (B anchors, then their B targets).
        grids: The statistic grids of the 2B images (``RegionStatistics.grids``).
    """

    features: torch.Tensor
    grids: tuple


class RegionTokens(NamedTuple):
    """A pair's region tokens before the decoder (``PANDA.region_tokens``).

    Attributes:
        anchor: BxRxD anchor region tokens.
        target: BxRxD target region tokens.
        padding: BxR bool, True for empty region slots.
    """

    anchor: torch.Tensor
    target: torch.Tensor
    padding: torch.Tensor


class PANDA(nn.Module):
    """Panoptic pairwise distortion network.

    The encoder sees the images resized to ``input_size`` (region masks are pooled onto the
    feature grid, so small regions keep a share). Any number of regions up to ``tokens``.

    Each region token is the sum of the token pool's learned features and
    ``RegionStatistics``: explicit low-level cues of the region in its own image and their
    difference to the other image. These are computed at the images' own resolution (longest
    side at most ``STATISTICS_MAX_SIDE``), where noise, compression blocks and fine blur are
    intact, not on the resized images.

    Args:
        encoder: timm model name. Default: ``'resnet18'``.
        encoder_levels: Feature levels of a CNN encoder to fuse. Default: (1, 2).
        encoder_checkpoint: Local weights for the encoder (optional, never downloaded).
        freeze_encoder: Keep the encoder fixed. Default: False.
        input_size: Side the images are resized to. Default: 256.
        dim: Token width. Default: 128.
        tokens: Size of the token pool (maximum regions). Default: 128.
        blocks: Decoder blocks. Default: 2.
        heads: Attention heads. Default: 4.
        ffn_ratio: Feed-forward width ratio. Default: 2.
    """

    #: Longest side of the images the region statistics are computed on; larger pairs are
    #: downscaled (area averaging) to it.
    STATISTICS_MAX_SIDE = 1024

    def __init__(self, encoder: str = 'resnet18', encoder_levels=(1, 2), encoder_checkpoint: str | None = None,
                 freeze_encoder: bool = False, input_size: int = 256, dim: int = 128,
                 tokens: int = 128, blocks: int = 2, heads: int = 4, ffn_ratio: int = 2):
        super().__init__()
        self.input_size = input_size
        self.encoder = MultiScaleEncoder(encoder, dim, tuple(encoder_levels), encoder_checkpoint,
                                         freeze_encoder)
        with torch.no_grad():
            grid = self.encoder(torch.zeros(1, 3, input_size, input_size)).shape[-1]
        self.token_pool = TokenPool(dim, tokens, grid)
        self.statistics = RegionStatistics(dim)
        self.decoder = DegradationDecoder(dim, blocks, heads, ffn_ratio)
        self.heads = PandaHeads(dim)

    def encode(self, anchor: torch.Tensor, target: torch.Tensor) -> PairEncoding:
        """What the network reads from a pair before it knows the regions: the encoder's
        features and the statistic grids (``RegionStatistics.grids``).

        Args:
            anchor: Bx3xHxW anchor images in [0, 1].
            target: Bx3xHxW target images in [0, 1], aligned with the anchors.

        Returns:
            The pair's encoding, for ``forward``.
        """
        size = (self.input_size, self.input_size)
        pair = torch.cat([anchor, target])
        detail = pair
        longest = max(pair.shape[-2:])
        if longest > self.STATISTICS_MAX_SIDE:
            detail = F.interpolate(pair, scale_factor=self.STATISTICS_MAX_SIDE / longest, mode='area')
        if pair.shape[-2:] != size:
            pair = F.interpolate(pair, size=size, mode='bilinear', antialias=True, align_corners=False)
        return PairEncoding(self.encoder(pair), self.statistics.grids(detail))

    def forward(self, anchor: torch.Tensor, target: torch.Tensor, label_map: torch.Tensor,
                regions: int | None = None, encoding: PairEncoding | None = None) -> dict:
        """Predict the distortion graph labels of every region.

        Args:
            anchor: Bx3xHxW anchor images in [0, 1].
            target: Bx3xHxW target images in [0, 1], aligned with the anchors.
            label_map: BxHxW int64 label map shared by both images (-1 outside regions).
            regions: Number of region slots R. Default: the largest label + 1.
            encoding: ``encode(anchor, target)`` when the caller has it already (e.g. made while
                the regions were proposed). Default: made here.

        Returns:
            Dict of per-region outputs (see ``PandaHeads.forward``), each with R slots.
        """
        if regions is None:
            regions = int(label_map.max()) + 1
        return self.decode_tokens(self.region_tokens(label_map, regions,
                                                     self.encode(anchor, target) if encoding is None else encoding))

    def region_tokens(self, label_map: torch.Tensor, regions: int, encoding: PairEncoding) -> RegionTokens:
        """The region tokens of a pair, before the decoder: the token pool's features plus the
        region statistics (``forward`` is ``decode_tokens(region_tokens(...))``).

        Args:
            label_map: BxHxW int64 label map shared by both images (-1 outside regions).
            regions: Number of region slots R.
            encoding: ``encode(anchor, target)``.

        Returns:
            The pair's tokens, for ``decode_tokens``.
        """
        features, grids = encoding
        # the statistics' grid is finer than the features' (the label map is counted once when they nest)
        cell_masks = region_masks(label_map, regions, grids[0].shape[-2:])
        masks = coarser_masks(cell_masks, features.shape[-2:])
        if masks is None:
            masks = region_masks(label_map, regions, features.shape[-2:])
        padding = masks.flatten(2).sum(-1) == 0
        tokens = self.token_pool(features, masks)
        anchor_cues, target_cues = self.statistics(grids, cell_masks)
        anchor_tokens, target_tokens = tokens.chunk(2)
        return RegionTokens(anchor_tokens + anchor_cues, target_tokens + target_cues, padding)

    def decode_tokens(self, tokens: RegionTokens) -> dict:
        """Decode a pair's region tokens into the per-region outputs.

        Args:
            tokens: ``region_tokens`` of the pair.

        Returns:
            Dict of per-region outputs (see ``PandaHeads.forward``).
        """
        anchor_tokens, target_tokens = self.decoder(*tokens)
        return self.heads(anchor_tokens, target_tokens)
