"""Explicit low-level cues per region: fixed image statistics pooled over each region, for
both images and as their difference (the comparison cue a pairwise model needs)."""
from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn


#: Floor under square roots, so that flat areas have finite gradients.
_EPS = 1e-12


class RegionStatistics(nn.Module):
    """Per-region mean and standard deviation of fixed statistic maps that separate synthetic
    distortions cheaply: colour, chroma, Laplacian and gradient energy, local contrast at two
    scales, a dark channel (haze), local maxima (rain, snow) and 8x8 block-edge energy
    (compression). Each image's region vector is projected together with its difference to
    the other image's, so swapping the images swaps the outputs exactly.

    Args:
        dim: Output width.
        grid: Side of the grid the maps are pooled on before region pooling. Default: 64.
    """

    CHANNELS = 13

    def __init__(self, dim: int, grid: int = 64):
        super().__init__()
        self.grid = grid
        width = 4 * self.CHANNELS
        self.project = nn.Sequential(nn.Linear(width, dim), nn.LayerNorm(dim), nn.GELU(), nn.Linear(dim, dim))

    def grids(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The maps' cell means and mean squares on the pooling grid (no regions needed yet).

        Args:
            images: Bx3xHxW in [0, 1].

        Returns:
            (first, second) moments, each BxCxgxg (g = ``grid``, or less for small images).
        """
        grid = (min(self.grid, images.shape[-2]), min(self.grid, images.shape[-1]))
        first, second = [], []
        # one image and one map at a time: each map is pooled as it is made, so that no stack of
        # full-resolution maps is held (and paged in afresh on every call)
        for image in images.split(1):
            means, squares = zip(*(cell_moments(maps, grid) for maps in statistic_maps(image)))
            first.append(torch.cat(means, 1))
            second.append(torch.cat(squares, 1))
        return torch.cat(first), torch.cat(second)

    def forward(self, grids: tuple[torch.Tensor, torch.Tensor],
                masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Region vectors of both images.

        Args:
            grids: ``grids`` of the 2B images (B anchors, then their B targets).
            masks: BxRxgxg region masks on the grids' cells (``token_pool.region_masks``).

        Returns:
            (anchor vectors, target vectors), each BxRxdim.
        """
        first, second = grids
        weights = masks / masks.flatten(2).sum(-1).clamp(min=1e-6)[..., None, None]
        weights = torch.cat([weights, weights])
        mean = torch.einsum('brhw,bchw->brc', weights, first)
        std = (torch.einsum('brhw,bchw->brc', weights, second) - mean * mean).clamp(min=1e-8).sqrt()
        own_anchor, own_target = torch.cat([mean, std], -1).chunk(2)
        return (self.project(torch.cat([own_anchor, own_anchor - own_target], -1)),
                self.project(torch.cat([own_target, own_target - own_anchor], -1)))


def statistic_maps(images: torch.Tensor) -> Iterator[torch.Tensor]:
    """The ``RegionStatistics.CHANNELS`` statistic maps of Bx3xHxW images in [0, 1], made one
    after the other.

    The Laplacian, Sobel filters, window means and maxima are sums of shifted slices (the same
    values as ``conv2d``, ``avg_pool2d`` with ``count_include_pad=False`` and ``max_pool2d``, up
    to float rounding, several times faster on CPU).

    Args:
        images: Bx3xHxW in [0, 1].

    Yields:
        BxkxHxW maps in channel order: the colours (k = 3), then grey, chroma, dark channel,
        local maxima and the six energies (k = 1 each, energies on a log scale).
    """
    grey = images.mean(1, keepdim=True)
    yield images
    yield grey
    lowest = images.amin(1, keepdim=True)
    yield images.amax(1, keepdim=True).sub_(lowest)
    yield _max_filter(lowest.neg_(), 7).neg_()
    yield _max_filter(grey, 7)
    laplacian, grad_x, grad_y = _laplacian_and_sobel(grey)
    yield _log_energy(laplacian.abs_())
    yield _log_energy(grad_x.mul_(grad_x).add_(grad_y * grad_y).clamp_(min=_EPS).sqrt_())
    for sums, k in zip(_window_sums(torch.cat([grey, grey * grey], 1)), (3, 9)):
        mean, square = (sums / _window_counts(grey.shape[-2:], k, grey)).unbind(1)
        yield _log_energy((square - mean * mean).clamp_(min=_EPS).sqrt_()[:, None])
    step_x = F.pad((grey[..., :, 1:] - grey[..., :, :-1]).abs(), (0, 1))
    step_y = F.pad((grey[..., 1:, :] - grey[..., :-1, :]).abs(), (0, 0, 0, 1))
    block = torch.zeros_like(grey)
    block[..., :, 7::8] += step_x[..., :, 7::8]
    block[..., 7::8, :] += step_y[..., 7::8, :]
    yield _log_energy(block)
    yield _log_energy(step_x.add_(step_y))


def _log_energy(energy: torch.Tensor) -> torch.Tensor:
    """``log(1 + 20 x)`` in place: log(1 + x) rather than log1p, the same to 3e-7 here, and
    log1p is not vectorised on CPU."""
    return energy.mul_(20).add_(1).log_()


def cell_moments(maps: torch.Tensor, grid: tuple) -> tuple[torch.Tensor, torch.Tensor]:
    """Means and mean squares of maps over the cells of a grid, the cells of
    ``adaptive_avg_pool2d``. When the grid divides the maps, its cells are summed as slices
    (the same up to float rounding, about half the time on CPU, and the squares are never held
    whole).

    Args:
        maps: BxCxHxW.
        grid: (rows, columns) of the grid.

    Returns:
        (means, mean squares), each BxCxrowsxcolumns.
    """
    height, width = maps.shape[-2:]
    if height % grid[0] or width % grid[1]:
        return F.adaptive_avg_pool2d(maps, grid), F.adaptive_avg_pool2d(maps * maps, grid)
    rows, columns = height // grid[0], width // grid[1]
    bands = maps.unflatten(-2, (grid[0], rows))
    total = bands[..., 0, :].clone()
    squares = bands[..., 0, :] * bands[..., 0, :]
    for row in range(1, rows):
        band = bands[..., row, :]
        total += band
        squares.addcmul_(band, band)
    cells = rows * columns
    return (total.unflatten(-1, (grid[1], columns)).sum(-1) / cells,
            squares.unflatten(-1, (grid[1], columns)).sum(-1) / cells)


def _laplacian_and_sobel(grey: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The 3x3 Laplacian and the horizontal and vertical Sobel filters of Bx1xHxW maps, borders
    replicated (``conv2d`` with the kernels ``[[0, 1, 0], [1, -4, 1], [0, 1, 0]]``,
    ``[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]`` and its transpose)."""
    padded = F.pad(grey, (1, 1, 1, 1), mode='replicate')
    # sums accumulated in place, in the order of the plain expressions (the same values)
    laplacian = (padded[..., :-2, 1:-1] + padded[..., 2:, 1:-1]).add_(padded[..., 1:-1, :-2]).add_(
        padded[..., 1:-1, 2:]).sub_(padded[..., 1:-1, 1:-1], alpha=4)
    across = padded[..., :, 2:] - padded[..., :, :-2]
    down = padded[..., 2:, :] - padded[..., :-2, :]
    grad_x = torch.add(across[..., :-2, :], across[..., 1:-1, :], alpha=2).add_(across[..., 2:, :])
    grad_y = torch.add(down[..., :-2], down[..., 1:-1], alpha=2).add_(down[..., 2:])
    return laplacian, grad_x, grad_y


def _max_filter(maps: torch.Tensor, size: int) -> torch.Tensor:
    """Separable ``size x size`` maximum filter, ``size`` odd (same size output, borders ignored)."""
    radius = size // 2
    rows = _running_max(F.pad(maps, (radius, radius, 0, 0), value=float('-inf')), size, -1)
    return _running_max(F.pad(rows, (0, 0, radius, radius), value=float('-inf')), size, -2)


def _running_max(maps: torch.Tensor, size: int, axis: int) -> torch.Tensor:
    """Maxima of every ``size`` consecutive values along an axis (``size - 1`` fewer values), by
    doubling the span: ``floor(log2(size))`` maxima (one more when ``size`` is not a power of two)
    instead of ``size - 1``."""
    length = maps.shape[axis] - size + 1
    span = 1
    while 2 * span <= size:
        kept = maps.shape[axis] - span
        maps = torch.maximum(maps.narrow(axis, 0, kept), maps.narrow(axis, span, kept))
        span *= 2
    if span < size:
        maps = torch.maximum(maps.narrow(axis, 0, length), maps.narrow(axis, size - span, length))
    return maps.narrow(axis, 0, length)


def _window_sums(maps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sums over the centred 3x3 and 9x9 windows of every pixel (zeros outside the image):
    along each axis the 9-sum is three 3-sums 3 pixels apart."""
    results = [maps, maps]
    for axis in (-1, -2):
        length = maps.shape[axis]
        pad = (4, 4, 0, 0) if axis == -1 else (0, 0, 4, 4)
        threes = []
        for current in results:
            padded = F.pad(current, pad)
            threes.append(_three_sums(padded, axis, length + 6, 1))
        results = [threes[0].narrow(axis, 3, length), _three_sums(threes[1], axis, length, 3)]
    return results[0], results[1]


def _three_sums(maps: torch.Tensor, axis: int, length: int, step: int) -> torch.Tensor:
    """``x[i] + x[i + step] + x[i + 2 step]`` for the first ``length`` positions along an axis
    (two additions, the second in place)."""
    return (maps.narrow(axis, 0, length) + maps.narrow(axis, step, length)).add_(maps.narrow(axis, 2 * step, length))

def _window_counts(size: tuple, k: int, like: torch.Tensor) -> torch.Tensor:
    """Pixels inside the image of each centred ``k x k`` window (HxW)."""
    counts = []
    for length in size:
        positions = torch.arange(length, device=like.device)
        inside = (positions + k // 2).clamp(max=length - 1) - (positions - k // 2).clamp(min=0) + 1
        counts.append(inside.to(like.dtype))
    # the products of small whole numbers are exact in any float type
    return counts[0][:, None] * counts[1][None, :]
