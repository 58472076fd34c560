"""Reference mode's region fidelity: multi-scale gradient-magnitude similarity, in torch.

Used by ``compare`` (reference mode), the pyiqa metric ``panda``, BasicSR's
``calculate_panda`` and ``PandaRegionLoss``: gradient-magnitude similarity (GMSD's) at five
scales of a Gaussian pyramid with MS-SSIM's weights, the luminance similarity at the coarsest
scale and FSIMc's chroma similarity, each pooled over the whole region at its own scale,
combined MS-SSIM's way into a distance and calibrated on human scores (docs/calibration.md).
No clipping anywhere: every non-identical pair has a gradient. A region whose pixels are
identical in both images scores exactly 1. Entry points: ``reference_fidelity``, and
``fidelity_of`` for a batch prepared once for fidelity and texture (``reference_inputs``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from panda_plugin.engine.panda.fidelity import WINDOW_SIGMA, RegionPooling, gaussian_blur
from panda_plugin.engine.panda.reference_inputs import LUMA, ReferenceInputs, mix, reference_inputs

#: Weights of the five scales of the reference-mode measure (MS-SSIM's, Wang et al. 2003),
#: finest first; each scale is the previous one halved (``halve``).
SCALE_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
#: Constant of the gradient-magnitude similarity (GMSD's 170 on 8-bit values, Xue et al. 2014).
GRADIENT_CONSTANT = 170.0 / 255.0 ** 2
#: Constant of the luminance similarity at the coarsest scale (SSIM's C1).
LUMINANCE_CONSTANT = 0.01 ** 2
#: Constant of the chroma similarity of the YIQ I and Q channels (FSIMc's T3 = T4 = 200).
CHROMA_CONSTANT = 200.0 / 255.0 ** 2
#: Weight of the chroma term (FSIMc's lambda).
CHROMA_WEIGHT = 0.03
#: Calibration ``score = 1 / (1 + (distance / HALF_SCORE_DISTANCE) ** SCORE_EXPONENT)``: a
#: region at this distance scores 0.5. Both numbers are fit on LIVE's human scores
#: (docs/calibration.md) so that 0.9 falls at a DMOS of 10 and 0.7 at a DMOS of 50.
HALF_SCORE_DISTANCE = 0.12
#: Exponent of the calibration.
SCORE_EXPONENT = 0.41
#: Added to the squared gradient before its square root, so that flat areas keep a finite
#: derivative.
_MAGNITUDE_FLOOR = 1e-12
_IQ = ((0.596, -0.274, -0.322), (0.211, -0.523, 0.312))


def reference_maps(work: torch.Tensor) -> list:
    """Per-pixel dissimilarity maps of the reference-mode measure, each 0 exactly where both
    images agree (``1 - similarity``, computed directly so that tiny differences keep their
    precision):

    - one gradient-magnitude map per scale (``SCALE_WEIGHTS``), GMSD's similarity ``(2 m m' +
      c) / (m^2 + m'^2 + c)`` of the Prewitt gradient magnitudes ``m, m'`` of the luma, ``c =
      GRADIENT_CONSTANT``: in [0, 1);
    - the luminance similarity (SSIM's) of the Gaussian-weighted local means of the luma at
      the coarsest scale: in [0, 1);
    - the chroma similarity (FSIMc's) of the YIQ I and Q channels at the finest scale: in
      [0, 2].

    Args:
        work: 2Bx3xhxw float32 in [0, 1]: B restored images, then their B references, at most
            ``WORK_SIZE`` pixels on the long side (``ReferenceInputs.work``).

    Returns:
        ``len(SCALE_WEIGHTS) + 2`` float32 maps of shape Bxh_sxw_s.
    """
    count = work.shape[0] // 2
    chroma = mix(work, _IQ)
    chroma = 1 - (1 - _dissimilarity(chroma[:count], chroma[count:], CHROMA_CONSTANT)).prod(1)
    luma = mix(work, (LUMA,))
    maps = []
    for scale in range(len(SCALE_WEIGHTS)):
        if scale:
            luma = halve(luma)
        magnitude = gradient_magnitude(luma)[:, 0]
        maps.append(_dissimilarity(magnitude[:count], magnitude[count:], GRADIENT_CONSTANT))
    means = gaussian_blur(luma, WINDOW_SIGMA)[:, 0]
    maps.append(_dissimilarity(means[:count], means[count:], LUMINANCE_CONSTANT))
    maps.append(chroma)
    return maps


def reference_distances(restored: torch.Tensor, reference: torch.Tensor, label_maps) -> list:
    """Distance of every region of the restored images from the same region of the
    references (``distances_of``).

    Args:
        restored: Bx3xHxW images in [0, 1].
        reference: Bx3xHxW references.
        label_maps: B label maps (BxHxW tensor or sequence of HxW arrays).

    Returns:
        One float64 tensor of region distances per image, differentiable in ``restored``.
    """
    return distances_of(reference_inputs(restored, reference, label_maps))


def distances_of(inputs: ReferenceInputs) -> list:
    """Distance of every region of a prepared batch: with every map of ``reference_maps``
    averaged over the region at its own scale (``g_s`` gradient at scale ``s``, ``l``
    luminance, ``c`` chroma), ``-sum_s w_s log(1 - g_s) - w_4 log(1 - l) - log(1 -
    CHROMA_WEIGHT c)``, ``w`` the ``SCALE_WEIGHTS``: minus the log of the product of the
    similarities, MS-SSIM's way.

    Args:
        inputs: The batch (``reference_inputs``).

    Returns:
        One float64 tensor of region distances (>= 0, 0 when both images agree around the
        region) per image, differentiable in the restored images.
    """
    maps = reference_maps(inputs.work)
    device = inputs.work.device
    weights = torch.tensor(SCALE_WEIGHTS + SCALE_WEIGHTS[-1:] + (1.0,), dtype=torch.float64, device=device)
    shares = torch.ones_like(weights)
    shares[-1] = CHROMA_WEIGHT
    results = []
    for index, label_map in enumerate(inputs.label_maps):
        pooling = RegionPooling(label_map, 0, device)
        # one map at a time: a 2048x2048 pair never holds all seven at full size
        means = torch.stack([pooling(_resized(values[index], label_map.shape)) for values in maps], -1)
        results.append(-(torch.log1p(-shares * means) * weights).sum(1))
    return results


def reference_fidelity(restored: torch.Tensor, reference: torch.Tensor, label_maps) -> list:
    """Reference-mode score of every region of the restored images (``fidelity_of``).

    Args:
        restored: Bx3xHxW images in [0, 1].
        reference: Bx3xHxW references.
        label_maps: B label maps (BxHxW tensor or sequence of HxW arrays).

    Returns:
        One float64 tensor of region scores in (0, 1] per image, differentiable in ``restored``.
    """
    return fidelity_of(reference_inputs(restored, reference, label_maps))


def fidelity_of(inputs: ReferenceInputs) -> list:
    """Reference-mode score of every region of a prepared batch: ``1 / (1 + (d /
    HALF_SCORE_DISTANCE) ** SCORE_EXPONENT)`` of its distance ``d`` (``distances_of``).

    Args:
        inputs: The batch (``reference_inputs``).

    Returns:
        One float64 tensor of region scores in (0, 1] per image: exactly 1 for a region
        whose pixels are identical in both images, below 1 otherwise; differentiable in the
        restored images, with a finite gradient that vanishes only where the images agree.
    """
    results = []
    for distance, identical in zip(distances_of(inputs), inputs.identical):
        positive = distance > 0
        safe = torch.where(positive, distance, torch.ones_like(distance))
        scores = 1.0 / (1.0 + (safe / HALF_SCORE_DISTANCE) ** SCORE_EXPONENT)
        results.append(torch.where(identical | ~positive, torch.ones_like(scores), scores))
    return results


def halve(images: torch.Tensor) -> torch.Tensor:
    """One level of a Gaussian pyramid (Burt and Adelson): the 5-tap binomial filter
    ``(1, 4, 6, 4, 1) / 16`` along both axes (borders replicated), then every second row and
    column.

    Args:
        images: BxCxHxW.

    Returns:
        BxCx(ceil(H/2))x(ceil(W/2)).
    """
    padded = F.pad(images, (2, 2, 2, 2), mode='replicate')
    rows = (padded[..., :-4] + padded[..., 4:] + 4 * (padded[..., 1:-3] + padded[..., 3:-1])
            + 6 * padded[..., 2:-2]) / 16
    both = (rows[..., :-4, :] + rows[..., 4:, :] + 4 * (rows[..., 1:-3, :] + rows[..., 3:-1, :])
            + 6 * rows[..., 2:-2, :]) / 16
    return both[..., ::2, ::2]


def gradient_magnitude(images: torch.Tensor) -> torch.Tensor:
    """Prewitt gradient magnitude (GMSD's: the kernels ``(1, 0, -1)`` and ``(1, 1, 1) / 3``,
    borders replicated), ``sqrt(gx^2 + gy^2 + _MAGNITUDE_FLOOR)``.

    Args:
        images: BxCxHxW.

    Returns:
        BxCxHxW.
    """
    padded = F.pad(images, (1, 1, 1, 1), mode='replicate')
    across = padded[..., :, :-2] - padded[..., :, 2:]
    down = padded[..., :-2, :] - padded[..., 2:, :]
    gx = (across[..., :-2, :] + across[..., 1:-1, :] + across[..., 2:, :]) / 3
    gy = (down[..., :-2] + down[..., 1:-1] + down[..., 2:]) / 3
    return (gx * gx + gy * gy + _MAGNITUDE_FLOOR).sqrt()


def _resized(values: torch.Tensor, shape) -> torch.Tensor:
    """An hxw map brought to ``shape`` (bilinear), or itself when it has that shape."""
    if tuple(values.shape) == tuple(shape):
        return values
    return F.interpolate(values[None, None], size=tuple(shape), mode='bilinear', align_corners=False)[0, 0]


def _dissimilarity(x: torch.Tensor, y: torch.Tensor, constant: float) -> torch.Tensor:
    """``1 - (2 x y + constant) / (x^2 + y^2 + constant)``, computed as a ratio."""
    return (x - y) ** 2 / (x * x + y * y + constant)
