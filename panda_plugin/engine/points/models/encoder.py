"""The pixel encoder the click networks share (``ClickBoundaryNet``, ``PanopticSegmenterNet``): a
U-Net-like encoder-decoder over RGB and two coordinate channels, at a working resolution whose
long side is ``input_size``."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.GroupNorm(8, cout), nn.GELU())


class PixelEncoder(nn.Module):
    """U-Net-like encoder-decoder: ``dim`` pixel features at input resolution from 5 channels
    (normalised RGB and the two channels of ``coordinate_channels``)."""

    def __init__(self, width: int, dim: int):
        super().__init__()
        widths = [width, width * 2, width * 3, width * 4]
        self.stem = nn.Sequential(_conv(5, widths[0]), _conv(widths[0], widths[0]))
        self.down = nn.ModuleList(nn.Sequential(_conv(widths[i], widths[i + 1], 2), _conv(widths[i + 1], widths[i + 1]))
                                  for i in range(3))
        self.context = nn.Sequential(nn.Conv2d(widths[3], widths[3], 3, 1, 2, dilation=2), nn.GELU())
        self.up = nn.ModuleList(_conv(widths[i + 1] + widths[i], widths[i]) for i in range(3))
        self.head = nn.Conv2d(widths[0], dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = [self.stem(x)]
        for block in self.down:
            skips.append(block(skips[-1]))
        y = skips[-1] + self.context(skips[-1])
        for level in (2, 1, 0):
            y = F.interpolate(y, size=skips[level].shape[-2:], mode='bilinear', align_corners=False)
            y = self.up[level](torch.cat([y, skips[level]], 1))
        return self.head(y)


def working_size(height: int, width: int, input_size: int) -> tuple[int, int]:
    """Working resolution of an image: long side ``input_size``, sides rounded to multiples of 8.

    Args:
        height: Image height.
        width: Image width.
        input_size: Long side of the working resolution.

    Returns:
        (height, width), each at least 8.
    """
    scale = input_size / max(height, width)
    return (max(8, int(round(height * scale / 8)) * 8), max(8, int(round(width * scale / 8)) * 8))


def coordinate_channels(images: torch.Tensor, input_size: int) -> torch.Tensor:
    """Pixel positions as two channels (x, y), in units of ``2 / input_size`` from -1, so that
    crops and whole images agree.

    Args:
        images: BxCxHxW.
        input_size: Long side of the working resolution.

    Returns:
        Bx2xHxW tensor.
    """
    batch, _, height, width = images.shape
    unit = 2.0 / input_size
    ys = torch.arange(height, device=images.device, dtype=images.dtype) * unit - 1
    xs = torch.arange(width, device=images.device, dtype=images.dtype) * unit - 1
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing='ij')
    return torch.stack([grid_x, grid_y]).expand(batch, 2, height, width)
