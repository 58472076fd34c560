"""Region fidelity against a reference, in torch.

Two measures, one implementation each:

- the label oracle's (``scoring.PixelMapScorer``, which labels generated training pairs):
  ``ssim``: SSIM of the CIELAB lightness (Gaussian window, sigma 1.5), clipped to [0, 1];
  ``ssim_color``: ``ssim`` times the colour similarity ``exp(-dE / colour_scale)``, where
  ``dE`` is the length of the locally averaged CIELAB difference; ``psnr``: PSNR of the
  squared error pooled over the region; ``ssim_psnr`` (the default): geometric mean of
  calibrated ``ssim_color`` and ``psnr``. Averaged over each region's interior (``BORDER``
  pixels away from its edge). Entry points: ``region_fidelity``, ``batch_fidelity``.
- reference mode's: ``engine.panda.human_fidelity.reference_fidelity``, built on the pooling
  and helpers here.

The maps are computed at ``WORK_SIZE`` pixels on the long side at most (area averaging) and
brought back to the label map's size (bilinear) to be averaged over each region. A region
whose pixels are identical in both images scores exactly 1. Everything is differentiable in
the restored image.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.masks import region_count
from panda_plugin.engine.colour import rgb_to_lab
from panda_plugin.engine.panda.region_sums import RegionSums

#: Pixels this close to a region border are left out of its score, so that the analysis
#: window of a pixel never straddles two regions with different distortions.
BORDER = 6
#: Long side at which the pixel quality maps are computed.
WORK_SIZE = 512
#: Standard deviation of the Gaussian window of SSIM and of the colour-difference average.
WINDOW_SIGMA = 1.5
#: CIELAB distance at which the colour similarity falls to 1/e.
COLOUR_SCALE = 30.0
#: Measures and the components whose calibrated values they multiply (geometric mean).
MEASURES = {'ssim_psnr': ('ssim_color', 'psnr'), 'ssim_color': ('ssim_color',),
            'ssim': ('ssim',), 'psnr': ('psnr',)}


@dataclass(frozen=True)
class Calibration:
    """Monotone map of a raw similarity onto the [0, 1] scale the relation thresholds assume:
    ``clip((raw - low) / (high - low), 0, 1) ** gamma``.

    Works on numpy arrays and on torch tensors (differentiable inside ``(low, high)``).

    Args:
        low: Raw value mapped to 0.
        high: Raw value mapped to 1.
        gamma: Exponent applied after the linear map.
    """

    low: float = 0.0
    high: float = 1.0
    gamma: float = 1.0

    def __call__(self, raw):
        if torch.is_tensor(raw):
            linear = ((raw - self.low) / (self.high - self.low)).clamp(0.0, 1.0)
            if self.gamma == 1.0:
                return linear
            return torch.where(linear > 0, linear.clamp(min=1e-12) ** self.gamma, torch.zeros_like(linear))
        linear = np.clip((np.asarray(raw, np.float64) - self.low) / (self.high - self.low), 0.0, 1.0)
        return linear ** self.gamma


#: Calibration of each component (the PSNR in dB, [10, 45] onto [0, 1]).
DEFAULT_CALIBRATIONS = {
    'ssim_color': Calibration(0.0, 1.0, 1.0),
    'ssim': Calibration(0.0, 1.0, 1.0),
    'psnr': Calibration(10.0, 45.0, 1.0),
}


def check_measure(measure: str) -> tuple[str, ...]:
    """The components of a measure name.

    Args:
        measure: A key of ``MEASURES``.

    Returns:
        Its component names.
    """
    if measure not in MEASURES:
        raise PandaInputError(f'unknown pixel measure {measure!r}; accepted: {", ".join(MEASURES)}')
    return MEASURES[measure]


# -- pixel maps ------------------------------------------------------------------------


def pixel_maps(restored: torch.Tensor, reference: torch.Tensor, components,
               colour_scale: float = COLOUR_SCALE) -> dict:
    """Per-pixel maps at the working resolution.

    Args:
        restored: Bx3xHxW images in [0, 1] (values outside are clipped).
        reference: Bx3xHxW references.
        components: Names among ``'ssim'``, ``'ssim_color'`` and ``'psnr'``.
        colour_scale: CIELAB distance of the colour similarity. Default: ``COLOUR_SCALE``.

    Returns:
        Dict of Bxhxw float32 maps (``h, w`` at most ``WORK_SIZE``): similarities, or the
        channel-mean squared error for ``psnr``.
    """
    restored = work_size(restored.float().clamp(0, 1)).contiguous()
    reference = work_size(reference.float().clamp(0, 1)).contiguous()
    maps = {}
    if 'psnr' in components:
        maps['psnr'] = ((restored - reference) ** 2).mean(1)
    structural = [c for c in components if c != 'psnr']
    if structural:
        lab_r, lab_c = rgb_to_lab(restored), rgb_to_lab(reference)
        x, y = lab_r[:, :1] / 100.0, lab_c[:, :1] / 100.0
        stack = [x, y, x * x, y * y, x * y]
        if structural[0] == 'ssim_color':
            stack.append(lab_r - lab_c)
        blurred = gaussian_blur(torch.cat(stack, 1), WINDOW_SIGMA)
        mu_x, mu_y, xx, yy, xy = (blurred[:, i] for i in range(5))
        c1, c2 = 0.01 ** 2, 0.03 ** 2
        var_x, var_y, cov = xx - mu_x ** 2, yy - mu_y ** 2, xy - mu_x * mu_y
        similarity = (((2 * mu_x * mu_y + c1) * (2 * cov + c2))
                      / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))).clamp(0.0, 1.0)
        if structural[0] == 'ssim_color':
            distance = _safe_sqrt((blurred[:, 5:] ** 2).sum(1))
            similarity = similarity * torch.exp(-distance / colour_scale)
        maps[structural[0]] = similarity
    return maps


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur, OpenCV's way (13 taps for sigma 1.5, borders reflected).

    Args:
        images: BxCxHxW.
        sigma: Standard deviation in pixels.

    Returns:
        The blurred BxCxHxW.
    """
    kernel = _gaussian_kernel(float(sigma), images.dtype, images.device)
    channels, radius = images.shape[1], kernel.numel() // 2
    height, width = images.shape[-2:]
    mode = 'reflect' if min(height, width) > radius else 'replicate'
    padded = F.pad(images, (radius, radius, radius, radius), mode=mode)
    horizontal = kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1)
    vertical = kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1)
    return F.conv2d(F.conv2d(padded, horizontal, groups=channels), vertical, groups=channels)


def work_size(images: torch.Tensor) -> torch.Tensor:
    """Area-average images down to ``WORK_SIZE`` pixels on the long side (OpenCV's
    ``INTER_AREA`` weights); smaller images are returned as they are.

    Args:
        images: BxCxHxW.

    Returns:
        BxCxhxw.
    """
    height, width = images.shape[-2:]
    if max(height, width) <= WORK_SIZE:
        return images
    scale = WORK_SIZE / max(height, width)
    rows = _area_matrix(height, max(1, round(height * scale)), images.dtype, images.device)
    cols = _area_matrix(width, max(1, round(width * scale)), images.dtype, images.device)
    return torch.einsum('ih,bchw,jw->bcij', rows, images, cols)


# -- pooling over regions ----------------------------------------------------------------


class RegionPooling:
    """Averages of per-pixel maps over the interiors of the regions of one label map.

    A region too thin to have an interior is pooled over all its pixels.

    Args:
        label_map: HxW integer label map (``0..N-1`` regions, ``-1`` elsewhere).
        border: Width of the band left out along region borders. Default: ``BORDER``.
        device: Torch device of the maps to pool. Default: CPU.
    """

    def __init__(self, label_map: np.ndarray, border: int = BORDER, device=None):
        label_map = np.asarray(label_map)
        self.shape = label_map.shape
        self.count = region_count(label_map)
        labels = label_map.astype(np.float32)
        inside = label_map >= 0
        interior = inside.copy()
        if border > 0:
            kernel = np.ones((2 * border + 1, 2 * border + 1), np.uint8)
            interior &= cv2.erode(labels, kernel) == cv2.dilate(labels, kernel)
        sizes = np.bincount(label_map[interior], minlength=self.count)[:self.count]
        thin = sizes == 0
        if thin.any():
            interior |= inside & thin[np.where(inside, label_map, 0)]
        flat = np.where(interior, label_map, self.count).reshape(-1).astype(np.int64)
        self.sums = RegionSums(torch.from_numpy(flat).to(device), self.count + 1)
        sizes = np.bincount(flat, minlength=self.count + 1)[:self.count]
        self.sizes = torch.from_numpy(np.maximum(sizes, 1).astype(np.float64)).to(device)

    def __call__(self, values: torch.Tensor) -> torch.Tensor:
        """Per-region means (float64) of an HxW map of the label map's size (N values), or of
        the K maps of an HxWxK stack (NxK values)."""
        flat = values.reshape(self.sums.spread.numel(), -1).double().t().contiguous()
        totals = self.sums(flat)[:, :self.count] / self.sizes
        return totals.t() if values.dim() == 3 else totals[0]


def identical_regions(restored: torch.Tensor, reference: torch.Tensor, label_map: np.ndarray) -> torch.Tensor:
    """Which regions have every pixel equal in both images.

    Args:
        restored: 3xHxW.
        reference: 3xHxW.
        label_map: HxW label map.

    Returns:
        N booleans.
    """
    label_map = torch.as_tensor(np.asarray(label_map, np.int64), device=restored.device)
    count = int(label_map.max()) + 1
    differs = (restored.detach() != reference.detach()).any(0) & (label_map >= 0)
    # the differing pixels' regions counted with the others in one extra slot (no gather)
    return torch.bincount(torch.where(differs, label_map, count).view(-1), minlength=count + 1)[:count] == 0


# -- region scores -------------------------------------------------------------------------


def region_fidelity(restored: torch.Tensor, reference: torch.Tensor, label_map: np.ndarray,
                    measure: str = 'ssim_psnr', calibrations: dict | None = None,
                    colour_scale: float = COLOUR_SCALE, border: int = BORDER) -> torch.Tensor:
    """Score every region of one restored image against its reference.

    Args:
        restored: 3xHxW (or 1x3xHxW) image in [0, 1].
        reference: Its reference, same shape.
        label_map: HxW integer label map.
        measure: A key of ``MEASURES``. Default: ``'ssim_psnr'``.
        calibrations: Per component, the map onto [0, 1]. Default: ``DEFAULT_CALIBRATIONS``.
        colour_scale: CIELAB distance of the colour similarity. Default: ``COLOUR_SCALE``.
        border: Band along region borders left out of the pooling. Default: ``BORDER``.

    Returns:
        N float64 scores in [0, 1] (1 exactly for regions identical in both images),
        differentiable in ``restored``.
    """
    restored, reference = _batch_of_one(restored), _batch_of_one(reference)
    if restored.shape != reference.shape:
        raise PandaInputError(f'restored image {tuple(restored.shape[1:])} and reference '
                              f'{tuple(reference.shape[1:])} differ in size; they must have the same size')
    label_map = np.asarray(label_map)
    if label_map.shape != tuple(restored.shape[-2:]):
        raise PandaInputError(f'label map {label_map.shape} does not match image {tuple(restored.shape[-2:])}')
    return batch_fidelity(restored, reference, [label_map], measure, calibrations, colour_scale, border)[0]


def batch_fidelity(restored: torch.Tensor, reference: torch.Tensor, label_maps,
                   measure: str = 'ssim_psnr', calibrations: dict | None = None,
                   colour_scale: float = COLOUR_SCALE, border: int = BORDER) -> list:
    """``region_fidelity`` of a batch.

    Args:
        restored: Bx3xHxW images in [0, 1].
        reference: Bx3xHxW references.
        label_maps: B label maps (BxHxW tensor or sequence of HxW arrays).
        measure: A key of ``MEASURES``. Default: ``'ssim_psnr'``.
        calibrations: Per component, the map onto [0, 1]. Default: ``DEFAULT_CALIBRATIONS``.
        colour_scale: CIELAB distance of the colour similarity.
        border: Band along region borders left out of the pooling. Default: ``BORDER``.

    Returns:
        One float64 tensor of region scores per image.
    """
    components = check_measure(measure)
    calibrations = {**DEFAULT_CALIBRATIONS, **(calibrations or {})}
    maps = pixel_maps(restored, reference, components, colour_scale)
    results = []
    for index, label_map in enumerate(label_maps):
        label_map = label_map.cpu().numpy() if torch.is_tensor(label_map) else np.asarray(label_map)
        pooling = RegionPooling(label_map, border, restored.device)
        product = 1.0
        for name in components:
            values = maps[name][index]
            if tuple(values.shape) != label_map.shape:
                values = F.interpolate(values[None, None], size=label_map.shape, mode='bilinear',
                                       align_corners=False)[0, 0]
            raw = pooling(values)
            if name == 'psnr':
                raw = 10.0 * torch.log10(1.0 / raw.clamp(min=1e-10))
            product = product * calibrations[name](raw)
        if len(components) == 1:
            scores = product
        else:
            positive = product > 0
            scores = torch.where(positive, product.clamp(min=1e-30) ** (1.0 / len(components)),
                                 torch.zeros_like(product))
        same = identical_regions(restored[index], reference[index], label_map)
        results.append(torch.where(same, torch.ones_like(scores), scores.clamp(0.0, 1.0)))
    return results


# -- reference mode: multi-scale gradient similarity ----------------------------------------

def padded(scores: list, capacity: int | None = None) -> torch.Tensor:
    """Stack per-image region scores into BxR, padding with 1.

    Args:
        scores: One 1-D tensor per image.
        capacity: R. Default: the most regions of any image.

    Returns:
        BxR tensor.
    """
    width = capacity or max(len(s) for s in scores)
    return torch.stack([F.pad(s, (0, width - len(s)), value=1.0) for s in scores])


# -- helpers -----------------------------------------------------------------------------


def _batch_of_one(image: torch.Tensor) -> torch.Tensor:
    if image.dim() == 3:
        image = image[None]
    if image.dim() != 4 or image.shape[0] != 1 or image.shape[1] != 3:
        raise PandaInputError(f'expected a 3xHxW image, got {tuple(image.shape)}')
    return image


def _safe_sqrt(values: torch.Tensor) -> torch.Tensor:
    positive = values > 0
    return torch.where(positive, values.clamp(min=1e-30).sqrt(), torch.zeros_like(values))


@lru_cache(maxsize=16)
def _gaussian_numpy(sigma: float) -> np.ndarray:
    size = int(round(sigma * 4 * 2 + 1)) | 1
    return cv2.getGaussianKernel(size, sigma, cv2.CV_64F).reshape(-1)


def _gaussian_kernel(sigma: float, dtype, device) -> torch.Tensor:
    return torch.as_tensor(_gaussian_numpy(sigma), dtype=dtype, device=device)


@lru_cache(maxsize=32)
def _area_numpy(source: int, target: int) -> np.ndarray:
    """OpenCV's ``INTER_AREA`` weights of a 1-D downscale from ``source`` to ``target``."""
    scale = source / target
    weights = np.zeros((target, source))
    for out in range(target):
        start, end = out * scale, min((out + 1) * scale, source)
        first, last = int(np.ceil(start)), int(np.floor(end))
        cell = end - start
        if first - start > 1e-3:
            weights[out, first - 1] = (first - start) / cell
        weights[out, first:last] = 1.0 / cell
        if last < source and end - last > 1e-3:
            weights[out, last] = (end - last) / cell
    return weights / weights.sum(1, keepdims=True)


def _area_matrix(source: int, target: int, dtype, device) -> torch.Tensor:
    return torch.as_tensor(_area_numpy(source, target), dtype=dtype, device=device)
