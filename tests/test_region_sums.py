"""Pooling over regions: per-region sums, soft region masks on a grid and the statistics
filters, against direct computations."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from panda_plugin.engine.panda.models.region_statistics import (RegionStatistics, _laplacian_and_sobel, _max_filter,
                                                              cell_moments)
from panda_plugin.engine.panda.models.token_pool import TokenPool, coarser_masks, region_masks
from panda_plugin.engine.panda.region_sums import PARTIAL_SUMS, RegionSums


def blocky_labels(height: int, width: int, count: int, seed: int) -> np.ndarray:
    """A label map of rectangles (neighbouring pixels mostly share a region, as in real maps)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, count, (-(-height // 7), -(-width // 5)))
    return np.kron(small, np.ones((7, 5), np.int64))[:height, :width]


def test_region_sums_equal_each_region_s_sum_and_pass_gradients_to_its_pixels():
    for seed, (height, width, count) in enumerate(((61, 47, 9), (3, 5, 2), (128, 128, 40), (1, 1, 1))):
        labels = blocky_labels(height, width, count, seed) if seed != 1 else \
            np.random.default_rng(seed).integers(0, count, (height, width))
        index = torch.from_numpy(labels.reshape(-1))
        values = torch.rand(3, index.numel(), dtype=torch.float64, requires_grad=True)
        sums = RegionSums(index, count)(values)
        expected = torch.stack([torch.stack([values[k][index == r].sum() for r in range(count)]) for k in range(3)])
        torch.testing.assert_close(sums, expected, rtol=1e-12, atol=1e-12)
        weights = torch.rand(3, count, dtype=torch.float64)
        (sums * weights).sum().backward()
        torch.testing.assert_close(values.grad, weights[:, index])


def test_region_sums_spread_consecutive_pixels_over_distinct_partial_sums():
    sums = RegionSums(torch.zeros(4 * PARTIAL_SUMS, dtype=torch.int64), 3)
    assert len(set(sums.spread[:PARTIAL_SUMS].tolist())) == PARTIAL_SUMS
    assert sums(torch.ones(1, 4 * PARTIAL_SUMS)).tolist() == [[4.0 * PARTIAL_SUMS, 0.0, 0.0]]


def test_region_masks_are_the_share_of_each_cell_covered_by_each_region():
    labels = blocky_labels(64, 48, 6, 3)
    labels[:5, :9] = -1
    labels[30:33, 10:20] = 7  # beyond the slots asked for: not counted
    masks = region_masks(torch.from_numpy(labels)[None], 6, (8, 6))
    assert masks.shape == (1, 6, 8, 6)
    for region in range(6):
        cells = (labels == region).reshape(8, 8, 6, 8).mean((1, 3))
        np.testing.assert_allclose(masks[0, region].numpy(), cells, atol=1e-6)


def test_coarser_masks_equal_the_masks_counted_on_the_coarser_grid():
    labels = torch.from_numpy(blocky_labels(101, 67, 5, 4))[None]
    for fine, coarse in (((64, 64), (32, 32)), ((60, 42), (20, 7)), ((64, 67), (32, 67))):
        torch.testing.assert_close(coarser_masks(region_masks(labels, 5, fine), coarse),
                                   region_masks(labels, 5, coarse))
    assert coarser_masks(region_masks(labels, 5, (64, 64)), (24, 32)) is None


def test_masks_given_once_for_a_pair_pool_as_the_masks_given_to_each_image():
    torch.manual_seed(0)
    pool = TokenPool(16, tokens=8, grid=8, gate_dim=4).eval()
    features = torch.randn(4, 16, 8, 8)
    masks = region_masks(torch.randint(-1, 6, (2, 40, 40)), 6, (8, 8))
    with torch.no_grad():
        once = pool(features, masks)
        torch.testing.assert_close(once, pool(features, torch.cat([masks, masks])), rtol=0, atol=1e-6)
        # each image takes its own pair's masks: giving the pairs each other's masks changes the vectors
        assert not torch.allclose(once, pool(features, masks.flip(0)))


def test_statistics_filters_equal_the_convolutions_they_replace():
    laplacian = torch.tensor([[0., 1., 0.], [1., -4., 1.], [0., 1., 0.]])
    sobel = torch.tensor([[-1., 0., 1.], [-2., 0., 2.], [-1., 0., 1.]])
    kernels = torch.stack([laplacian, sobel, sobel.t()])[:, None]
    grey = torch.rand(2, 1, 37, 29)
    expected = F.conv2d(F.pad(grey, (1, 1, 1, 1), mode='replicate'), kernels)
    torch.testing.assert_close(torch.cat(_laplacian_and_sobel(grey), 1), expected, rtol=1e-5, atol=1e-6)


def test_maximum_filter_equals_max_pooling_with_its_borders_ignored():
    maps = torch.rand(2, 1, 23, 31)
    maps[0, 0, 5:9, 4:12] = 0.5  # ties
    for size in (3, 5, 7, 9):
        expected = F.max_pool2d(maps, size, stride=1, padding=size // 2)
        torch.testing.assert_close(_max_filter(maps, size), expected, rtol=0, atol=0)


def test_cell_moments_equal_adaptive_pooling_on_divided_and_undivided_grids():
    for shape, grid in (((1, 13, 64, 48), (8, 6)), ((2, 3, 37, 61), (8, 8)), ((1, 2, 5, 7), (5, 7))):
        maps = torch.rand(shape, dtype=torch.float64, requires_grad=True)
        means, squares = cell_moments(maps, grid)
        torch.testing.assert_close(means, F.adaptive_avg_pool2d(maps, grid))
        torch.testing.assert_close(squares, F.adaptive_avg_pool2d(maps * maps, grid))
        weights = torch.rand_like(means)
        gradient, = torch.autograd.grad(((means + squares) * weights).sum(), maps)
        expected, = torch.autograd.grad(((F.adaptive_avg_pool2d(maps, grid)
                                          + F.adaptive_avg_pool2d(maps * maps, grid)) * weights).sum(), maps)
        torch.testing.assert_close(gradient, expected)


def _plain_statistic_maps(images):
    """The statistic maps from their plain definitions (convolutions and pooling), stacked."""
    grey = images.mean(1, keepdim=True)
    lowest, highest = images.amin(1, keepdim=True), images.amax(1, keepdim=True)
    kernels = torch.tensor([[[0., 1., 0.], [1., -4., 1.], [0., 1., 0.]],
                            [[-1., 0., 1.], [-2., 0., 2.], [-1., 0., 1.]],
                            [[-1., -2., -1.], [0., 0., 0.], [1., 2., 1.]]])[:, None]
    laplacian, grad_x, grad_y = F.conv2d(F.pad(grey, (1, 1, 1, 1), mode='replicate'), kernels).split(1, 1)
    energies = [laplacian.abs(), (grad_x ** 2 + grad_y ** 2).clamp(min=1e-12).sqrt()]
    for k in (3, 9):
        mean = F.avg_pool2d(grey, k, 1, k // 2, count_include_pad=False)
        square = F.avg_pool2d(grey * grey, k, 1, k // 2, count_include_pad=False)
        energies.append((square - mean * mean).clamp(min=1e-12).sqrt())
    step_x = F.pad((grey[..., :, 1:] - grey[..., :, :-1]).abs(), (0, 1))
    step_y = F.pad((grey[..., 1:, :] - grey[..., :-1, :]).abs(), (0, 0, 0, 1))
    columns = (torch.arange(grey.shape[-1]) % 8 == 7).float()
    rows = (torch.arange(grey.shape[-2]) % 8 == 7).float()[:, None]
    energies += [step_x * columns + step_y * rows, step_x + step_y]
    plain = [images, grey, highest - lowest, -F.max_pool2d(-lowest, 7, 1, 3), F.max_pool2d(grey, 7, 1, 3)]
    return torch.cat(plain + [torch.log1p(20 * energy) for energy in energies], 1)


@pytest.mark.parametrize('shape', [(2, 3, 48, 40), (1, 3, 37, 61), (1, 3, 9, 130)])
def test_statistic_grids_pool_the_plain_statistic_maps(shape):
    statistics = RegionStatistics(8, grid=8)
    images = torch.rand(shape)
    images[:, :, :5, :7] = 0.25  # a flat patch: square roots at their floor
    maps = _plain_statistic_maps(images)
    assert maps.shape[1] == RegionStatistics.CHANNELS
    grid = (min(8, shape[-2]), min(8, shape[-1]))
    first, second = statistics.grids(images)
    torch.testing.assert_close(first, F.adaptive_avg_pool2d(maps, grid), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(second, F.adaptive_avg_pool2d(maps * maps, grid), rtol=1e-4, atol=1e-5)


def test_token_pool_vectors_equal_their_direct_sums_over_the_cells():
    pool = TokenPool(16, tokens=8, grid=8, gate_dim=4).eval()
    features = torch.randn(4, 16, 6, 6)  # two pairs: anchors, then targets
    masks = region_masks(torch.randint(-1, 5, (2, 30, 30)), 5, (6, 6))
    with torch.no_grad():
        tokens = F.interpolate(pool.tokens[:5], size=(6, 6), mode='bilinear', align_corners=False)
        gates = pool.embed((tokens[None] * masks[:, :, None]).flatten(0, 1)).view(2, 5, 4, 6, 6)
        weights = masks / masks.flatten(2).sum(-1).clamp(min=1e-6)[..., None, None]
        gated_features = pool.gate_features(features).view(2, 2, 4, 6, 6)
        images = features.view(2, 2, 16, 6, 6)
        gated = torch.einsum('brdhw,brhw,kbdhw->kbrd', gates, weights, gated_features)
        mean = torch.einsum('brhw,kbdhw->kbrd', weights, images)
        std = (torch.einsum('brhw,kbdhw->kbrd', weights, images ** 2) - mean ** 2).clamp(min=1e-6).sqrt()
        expected = pool.project(torch.cat([gated, mean, std], -1)).flatten(0, 1)
        torch.testing.assert_close(pool(features, masks), expected, rtol=1e-4, atol=1e-5)
