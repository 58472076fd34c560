"""Region texture against a reference: how well each region's texture statistics match.

Fidelity (``engine.fidelity``) asks whether a restored region has the reference's pixels;
texture asks whether it has the reference's *kind* of texture, so a region whose detail was
resampled (a plausible grass that is not the reference's grass) keeps a high texture score,
while a region that lost its texture (blur, smoothing, heavy compression) or gained texture
the reference does not have (noise, grain on sky) loses it.

The measure is STSIM-like and has no learned weights:

- the luma of both images (at ``WORK_SIZE`` pixels on the long side at most) goes through a
  small oriented pyramid: ``SCALES`` octaves (binomial blur and 2x decimation), and at each
  octave four oriented two-tap differences (horizontal, vertical, both diagonals), plus the
  low-pass residual;
- in each region, at each octave (the label map decimated with the image), every subband
  gives its mean, variance and horizontal and vertical neighbour correlations;
- restored and reference statistics are compared with bounded similarities: the spread
  ``(2 s_a s_b + C) / (s_a^2 + s_b^2 + C)`` (``s`` the standard deviation), each
  correlation ``1 - |r_a - r_b| / 2``, and for the low-pass band the mean
  ``(2 m_a m_b + C) / (m_a^2 + m_b^2 + C)``; a subband's similarity is their weighted
  geometric mean (spread 1/2, correlations 1/4 each);
- the region's score is the mean over its subbands (those with at least ``MIN_PIXELS``
  pixels of the region at their octave).

It is exactly 1 for a region whose pixels are identical in both images and differentiable
in the restored image (finite gradients everywhere).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.masks import region_count
from panda_plugin.engine.fidelity import WORK_SIZE, identical_regions, work_size

#: Octaves of the oriented pyramid (band-pass at 1, 2, 4 and 8 pixels; low-pass below).
SCALES = 4
#: Variance stabiliser of the spread and correlation terms: a band variance of 0.005^2 (on
#: [0, 1] luma), about the rounding noise of 8-bit images, counts as no texture.
VARIANCE_FLOOR = 0.005 ** 2
#: Stabiliser of the low-pass mean term.
MEAN_FLOOR = 0.01 ** 2
#: Exponents of the spread and of each neighbour-correlation term of a subband.
SPREAD_WEIGHT, CORRELATION_WEIGHT = 0.5, 0.25
#: A subband takes part in a region's score when the region has at least this many pixels at
#: the subband's octave.
MIN_PIXELS = 4
#: Added under square roots so that gradients stay finite where a variance is 0.
_EPSILON = 1e-12
_LUMA = (0.299, 0.587, 0.114)
_BINOMIAL = (1.0, 4.0, 6.0, 4.0, 1.0)


def batch_texture(restored: torch.Tensor, reference: torch.Tensor, label_maps) -> list:
    """Texture scores of every region of a batch of restored images.

    Args:
        restored: Bx3xHxW images in [0, 1] (values outside are clipped).
        reference: Bx3xHxW references.
        label_maps: B label maps (BxHxW tensor or sequence of HxW arrays).

    Returns:
        One float64 tensor of region scores in [0, 1] per image, differentiable in
        ``restored``; 1 exactly for regions identical in both images.
    """
    if restored.shape != reference.shape or restored.dim() != 4 or restored.shape[1] != 3:
        raise PandaInputError(f'restored {tuple(restored.shape)} and reference {tuple(reference.shape)}; '
                              'accepted: two Bx3xHxW batches of the same shape')
    batch = restored.shape[0]
    grey = luma(work_size(torch.cat([restored, reference]).float().clamp(0, 1)))
    pyramid = oriented_pyramid(grey)
    results = []
    for index, label_map in enumerate(label_maps):
        label_map = label_map.cpu().numpy() if torch.is_tensor(label_map) else np.asarray(label_map)
        count = region_count(label_map)
        worst = None
        for bands in pyramid:
            labels = _labels_at(label_map, bands.shape[-2:], restored.device)
            stats = region_statistics(bands[[index, index + batch]], labels, count)
            similarity = band_similarity(stats, low_pass=bands.shape[1] == 1).mean(1)
            similarity = torch.where(stats['count'] >= MIN_PIXELS, similarity, torch.ones_like(similarity))
            worst = similarity if worst is None else torch.minimum(worst, similarity)
        pooled = worst.clamp(0.0, 1.0)
        same = identical_regions(restored[index], reference[index], label_map)
        results.append(torch.where(same, torch.ones_like(pooled), pooled))
    return results


def region_texture(restored: torch.Tensor, reference: torch.Tensor, label_map: np.ndarray) -> torch.Tensor:
    """Texture score of every region of one restored image.

    Args:
        restored: 3xHxW (or 1x3xHxW) image in [0, 1].
        reference: Its reference, same shape.
        label_map: HxW integer label map.

    Returns:
        N float64 scores in [0, 1], differentiable in ``restored``.
    """
    restored = restored[None] if restored.dim() == 3 else restored
    reference = reference[None] if reference.dim() == 3 else reference
    label_map = np.asarray(label_map)
    if label_map.shape != tuple(restored.shape[-2:]):
        raise PandaInputError(f'label map {label_map.shape} does not match image {tuple(restored.shape[-2:])}')
    return batch_texture(restored, reference, [label_map])[0]


def luma(images: torch.Tensor) -> torch.Tensor:
    """Rec. 601 luma of Bx3xHxW sRGB images, Bx1xHxW."""
    weights = images.new_tensor(_LUMA).view(1, 3, 1, 1)
    return (images * weights).sum(1, keepdim=True)


def oriented_pyramid(grey: torch.Tensor) -> list:
    """The subbands of ``grey``: per octave, the four oriented differences, then the low-pass.

    Args:
        grey: Bx1xHxW.

    Returns:
        ``SCALES`` Bx4xhxw tensors (horizontal, vertical, two diagonals; each octave half the
        size of the one before) and the Bx1xhxw low-pass residual.
    """
    bands, current = [], grey
    for _ in range(SCALES):
        padded = F.pad(current, (0, 1, 0, 1), mode='replicate')
        here = padded[..., :-1, :-1]
        bands.append(torch.cat([padded[..., :-1, 1:] - here, padded[..., 1:, :-1] - here,
                                padded[..., 1:, 1:] - here, padded[..., 1:, :-1] - padded[..., :-1, 1:]], 1))
        if min(current.shape[-2:]) < 2:
            break
        current = _downsample(current)
    return bands + [current]


def region_statistics(bands: torch.Tensor, labels: torch.Tensor, count: int) -> dict:
    """Per-region moments of the subbands of the two images of a pair.

    Args:
        bands: 2xKxhxw subbands (restored, reference).
        labels: hxw int64 label map at the bands' size (``-1`` outside regions).
        count: Number of regions N.

    Returns:
        ``count`` (N pixels) and, each 2xNxK: ``mean``, ``variance``, ``horizontal`` and
        ``vertical`` (neighbour correlations).
    """
    right = torch.cat([bands[..., 1:], bands[..., -1:]], -1)
    below = torch.cat([bands[..., 1:, :], bands[..., -1:, :]], -2)
    moments = torch.cat([bands, bands * bands, bands * right, bands * below], 1)
    flat = moments.flatten(2).permute(2, 0, 1).reshape(labels.numel(), -1)
    index = torch.where(labels >= 0, labels, count).reshape(-1)
    sums = torch.zeros(count + 1, flat.shape[1], dtype=flat.dtype, device=flat.device).index_add_(0, index, flat)
    pixels = torch.bincount(index, minlength=count + 1)[:count].to(flat.dtype)
    means = (sums[:count] / pixels.clamp(min=1)[:, None]).view(count, 2, 4, -1).permute(1, 2, 0, 3)
    mean, square, horizontal, vertical = means.unbind(1)
    variance = (square - mean * mean).clamp(min=0)
    covariance = [(product - mean * mean) for product in (horizontal, vertical)]
    return {'count': pixels, 'mean': mean, 'variance': variance,
            'horizontal': covariance[0] / (variance + VARIANCE_FLOOR),
            'vertical': covariance[1] / (variance + VARIANCE_FLOOR)}


def band_similarity(stats: dict, low_pass: bool = False) -> torch.Tensor:
    """Similarity of the restored and reference statistics of each region and subband.

    Args:
        stats: ``region_statistics`` of one pair.
        low_pass: The subbands are the low-pass residual (its mean is compared too).

    Returns:
        NxK similarities in (0, 1].
    """
    spread = (stats['variance'] + _EPSILON).sqrt()
    restored, reference = spread.unbind(0)
    similarity = (2 * restored * reference + VARIANCE_FLOOR) / (restored * restored + reference * reference + VARIANCE_FLOOR)
    if low_pass:
        mean_a, mean_b = stats['mean'].unbind(0)
        return (similarity * (2 * mean_a * mean_b + MEAN_FLOOR) / (mean_a ** 2 + mean_b ** 2 + MEAN_FLOOR)).double()
    for key in ('horizontal', 'vertical'):
        similarity = similarity * (1 - (stats[key][0] - stats[key][1]).abs() / 2).clamp(min=0.0)
    return similarity.double()


def _downsample(images: torch.Tensor) -> torch.Tensor:
    kernel = images.new_tensor(_BINOMIAL)
    kernel = kernel / kernel.sum()
    channels = images.shape[1]
    mode = 'reflect' if min(images.shape[-2:]) > 2 else 'replicate'
    padded = F.pad(images, (2, 2, 2, 2), mode=mode)
    rows = F.conv2d(padded, kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1), groups=channels, stride=(1, 2))
    return F.conv2d(rows, kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1), groups=channels, stride=(2, 1))


def _labels_at(label_map: np.ndarray, size, device) -> torch.Tensor:
    labels = torch.as_tensor(np.asarray(label_map, np.int64), device=device)
    if tuple(labels.shape) == tuple(size):
        return labels
    rows = ((torch.arange(size[0], device=device) + 0.5) * labels.shape[0] / size[0]).long()
    cols = ((torch.arange(size[1], device=device) + 0.5) * labels.shape[1] / size[1]).long()
    return labels[rows][:, cols]

