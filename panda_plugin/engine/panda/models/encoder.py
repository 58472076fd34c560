"""Image encoder: any timm backbone, its multi-scale features fused on one grid."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from panda_plugin.engine.checkpoints import check_tensors_file


class MultiScaleEncoder(nn.Module):
    """Features of a timm model at several strides, projected and summed at one stride.

    Every backbone runs with timm's ``features_only``; ViTs (e.g. ``vit_small_patch14_dinov2``)
    give their last block's patch tokens as a single scale.

    Args:
        name: timm model name. Default: ``'resnet18'``.
        dim: Output channels. Default: 128.
        out_indices: Feature levels of a CNN to fuse (later levels cost more; ignored for ViTs).
            Default: (1, 2).
        checkpoint: Optional local weights file for the backbone (never downloaded).
        frozen: Keep the backbone's weights fixed. Default: False.
    """

    def __init__(self, name: str = 'resnet18', dim: int = 128, out_indices=(1, 2),
                 checkpoint: str | None = None, frozen: bool = False):
        super().__init__()
        import timm

        options = {}
        if checkpoint:
            check_tensors_file(checkpoint, 'encoder checkpoint')
            options = {'pretrained': True, 'pretrained_cfg_overlay': {'file': str(checkpoint)}}
        if 'vit' in name:  # one scale: the last block's patch tokens, at any image size
            options['dynamic_img_size'] = True
            out_indices = (-1,)
        self.backbone = timm.create_model(name, features_only=True, out_indices=tuple(out_indices), **options)
        _drop_unused_blocks(self.backbone)
        channels = self.backbone.feature_info.channels()
        self.projections = nn.ModuleList(nn.Conv2d(c, dim, 1) for c in channels)
        self.fuse = nn.Sequential(nn.Conv2d(dim, dim, 3, padding=1), nn.GroupNorm(8, dim), nn.GELU())
        self.frozen = frozen
        if frozen:
            self.backbone.requires_grad_(False)
        mean = torch.tensor(self.backbone.pretrained_cfg.get('mean', (0.485, 0.456, 0.406)))
        std = torch.tensor(self.backbone.pretrained_cfg.get('std', (0.229, 0.224, 0.225)))
        self.register_buffer('mean', mean.view(1, 3, 1, 1), persistent=False)
        self.register_buffer('std', std.view(1, 3, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Encode images.

        Args:
            images: Bx3xHxW in [0, 1].

        Returns:
            BxDxhxw features on the grid of the second fused level (the only one for ViTs).
        """
        # channels-last input takes the faster convolution kernels on CPU (same values up to rounding)
        images = ((images - self.mean) / self.std).contiguous(memory_format=torch.channels_last)
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            features = self.backbone(images)
        grid = features[min(1, len(features) - 1)].shape[-2:]
        fused = 0
        for projection, feature in zip(self.projections, features):
            fused = fused + _on_grid(projection, feature, grid)
        return self.fuse(fused).contiguous()


def _on_grid(projection: nn.Conv2d, feature: torch.Tensor, grid) -> torch.Tensor:
    """A feature map projected (1x1 convolution) and resized (bilinear) onto the fused grid.

    Both are linear and the bilinear weights sum to 1, so their order does not change the
    result (up to float rounding): a finer map is resized first and a coarser one projected
    first, so that the projection runs on the fewer cells.

    Args:
        projection: The level's 1x1 projection.
        feature: BxCxhxw features of the level.
        grid: (rows, columns) of the fused grid.

    Returns:
        BxDxrowsxcolumns.
    """
    if tuple(feature.shape[-2:]) == tuple(grid):
        return projection(feature)
    if feature.shape[-2] > grid[0]:
        return projection(F.interpolate(feature, size=grid, mode='bilinear', align_corners=False))
    return F.interpolate(projection(feature), size=grid, mode='bilinear', align_corners=False)


def _drop_unused_blocks(backbone: nn.Module) -> None:
    """Remove the blocks after the last feature level that timm's MobileNetV3 and EfficientNet
    feature models run and then discard (the features are the same; the deepest stage of
    ``mobilenetv3_small_100`` is 14% of its time at stride 16). Weights files that still hold
    those blocks load: their tensors are skipped."""
    stages = getattr(backbone, '_stage_out_idx', None)
    blocks = getattr(backbone, 'blocks', None)
    if not stages or not isinstance(blocks, nn.Sequential) or getattr(backbone, 'feature_hooks', None) is not None:
        return
    kept = max(stages)
    if kept >= len(blocks):
        return
    backbone.blocks = blocks[:kept]
    dropped = tuple(f'blocks.{index}.' for index in range(kept, len(blocks)))

    def skip_dropped(state_dict, prefix, *_):
        for key in [key for key in state_dict if key.startswith(tuple(prefix + name for name in dropped))]:
            del state_dict[key]

    backbone._register_load_state_dict_pre_hook(skip_dropped)
