"""Region scorers: the label oracle that gives every region of a degraded image a quality
score in [0, 1] against its clean version (1 = identical).

Scorers are callables ``scorer(distorted, clean, label_map) -> scores`` (one float per
region). ``build_scorer`` turns a name into one:

- ``ssim_psnr`` (default): geometric mean of ``ssim_color`` and ``psnr``, each pooled over the
  region's interior and calibrated to [0, 1]. Chosen by the measurement in docs/labeling.md.
- ``ssim_color``: luminance SSIM times a CIELAB colour-difference similarity.
- ``ssim``, ``psnr``: luminance SSIM alone, PSNR alone.
- ``<scheme>:<argument>``: a scorer registered with ``register_scorer_scheme``; with pyiqa
  installed, ``pyiqa:<name>`` (any pyiqa full-reference metric) and ``topiq_fr:<weights path>``
  (the paper's oracle from a local file), see ``adapters.pyiqa``.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.masks import region_count

#: Pixels this close to a region border are left out of its score, so that the analysis
#: window of a pixel never straddles two regions with different distortions.
BORDER = 6
#: Long side at which the pixel quality maps are computed.
WORK_SIZE = 512


@dataclass(frozen=True)
class Calibration:
    """Monotone map of a raw similarity onto the [0, 1] scale the relation thresholds assume:
    ``clip((raw - low) / (high - low), 0, 1) ** gamma``.

    Args:
        low: Raw value mapped to 0.
        high: Raw value mapped to 1.
        gamma: Exponent applied after the linear map.
    """

    low: float = 0.0
    high: float = 1.0
    gamma: float = 1.0

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        linear = np.clip((np.asarray(raw, np.float64) - self.low) / (self.high - self.low), 0.0, 1.0)
        return linear ** self.gamma


class PixelMapScorer:
    """Scores regions by pooling per-pixel maps over each region's interior.

    Measures: ``ssim`` (luminance SSIM), ``ssim_color`` (luminance SSIM times a CIELAB
    colour similarity ``exp(-dE / colour_scale)``), ``psnr`` (PSNR of the pooled squared
    error), and ``ssim_psnr`` (default: geometric mean of calibrated ``ssim_color`` and
    ``psnr``, which tracks structural and photometric distortions alike).

    Args:
        measure: One of the measures above. Default: ``'ssim_psnr'``.
        calibrations: Per component (``'ssim'``, ``'ssim_color'``, ``'psnr'``), the map from
            its pooled raw value to [0, 1]. Default: ``DEFAULT_CALIBRATIONS``.
        colour_scale: CIELAB distance at which the colour similarity falls to 1/e.
            Default: 30.
    """

    MEASURES = {'ssim_psnr': ('ssim_color', 'psnr'), 'ssim_color': ('ssim_color',),
                'ssim': ('ssim',), 'psnr': ('psnr',)}
    DEFAULT_CALIBRATIONS = {
        'ssim_color': Calibration(0.0, 1.0, 1.0),
        'ssim': Calibration(0.0, 1.0, 1.0),
        'psnr': Calibration(10.0, 45.0, 1.0),
    }

    def __init__(self, measure: str = 'ssim_psnr', calibrations: dict | None = None,
                 colour_scale: float = 30.0):
        if measure not in self.MEASURES:
            raise PandaInputError(
                f'unknown pixel measure {measure!r}; accepted: {", ".join(self.MEASURES)}')
        self.measure = measure
        self.calibrations = {**self.DEFAULT_CALIBRATIONS, **(calibrations or {})}
        self.colour_scale = colour_scale

    def __call__(self, distorted: np.ndarray, clean: np.ndarray, label_map: np.ndarray) -> np.ndarray:
        """Score every region of ``distorted`` against ``clean``.

        Args:
            distorted: HxWx3 uint8 RGB image.
            clean: HxWx3 uint8 RGB reference of the same size.
            label_map: int32 HxW label map.

        Returns:
            float64 array of N scores in [0, 1].
        """
        check_scorer_inputs(distorted, clean, label_map)
        scores = 1.0
        components = self.MEASURES[self.measure]
        for name, values in self.pixel_maps(distorted, clean, components).items():
            if values.shape != label_map.shape:
                values = cv2.resize(values, label_map.shape[::-1], interpolation=cv2.INTER_LINEAR)
            raw = pool_interior(values, label_map)
            if name == 'psnr':
                raw = 10.0 * np.log10(1.0 / np.maximum(raw, 1e-10))
            scores = scores * self.calibrations[name](raw)
        return scores ** (1.0 / len(components))

    def pixel_maps(self, distorted: np.ndarray, clean: np.ndarray, components) -> dict:
        """Per-pixel maps at the working resolution: similarities, or squared error for ``psnr``.

        Args:
            distorted: HxWx3 uint8 RGB image.
            clean: HxWx3 uint8 RGB reference.
            components: Names among ``'ssim'``, ``'ssim_color'`` and ``'psnr'``.

        Returns:
            Dict of float32 maps, at most ``WORK_SIZE`` pixels on the long side.
        """
        distorted, clean = _to_work_size(distorted), _to_work_size(clean)
        maps = {}
        if 'psnr' in components:
            error = (distorted.astype(np.float32) - clean.astype(np.float32)) / 255.0
            maps['psnr'] = (error ** 2).mean(2)
        structural = [c for c in components if c != 'psnr']
        if structural:
            lab_d = cv2.cvtColor(distorted.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
            lab_c = cv2.cvtColor(clean.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
            similarity = np.clip(ssim_map(lab_d[..., 0] / 100.0, lab_c[..., 0] / 100.0), 0.0, 1.0)
            if structural[0] == 'ssim_color':
                difference = cv2.GaussianBlur(lab_d - lab_c, (0, 0), 1.5)
                similarity = similarity * np.exp(-np.sqrt((difference ** 2).sum(2)) / self.colour_scale)
            maps[structural[0]] = similarity
        return maps


def ssim_map(x: np.ndarray, y: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """Structural similarity map of two single-channel images in [0, 1] (Gaussian window).

    Args:
        x: HxW float32 image.
        y: HxW float32 image.
        sigma: Standard deviation of the Gaussian window. Default: 1.5.

    Returns:
        HxW float32 SSIM map.
    """
    c1, c2 = 0.01 ** 2, 0.03 ** 2

    def blur(a):
        return cv2.GaussianBlur(a, (0, 0), sigma)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x ** 2
    var_y = blur(y * y) - mu_y ** 2
    cov = blur(x * y) - mu_x * mu_y
    return ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))


def pool_interior(values: np.ndarray, label_map: np.ndarray, border: int = BORDER) -> np.ndarray:
    """Mean of a per-pixel map over each region, leaving out a band along region borders.

    A region too thin to have an interior is pooled over all its pixels.

    Args:
        values: HxW float map.
        label_map: int32 HxW label map of the same size.
        border: Width of the band left out, in pixels. Default: ``BORDER``.

    Returns:
        float64 array with one mean per region.
    """
    count = region_count(label_map)
    labels = label_map.astype(np.float32)
    kernel = np.ones((2 * border + 1, 2 * border + 1), np.uint8)
    interior = cv2.erode(labels, kernel) == cv2.dilate(labels, kernel)
    interior &= label_map >= 0
    inside = label_map >= 0
    totals = np.bincount(label_map[interior], values[interior], minlength=count)[:count]
    sizes = np.bincount(label_map[interior], minlength=count)[:count]
    thin = sizes == 0
    if thin.any():
        totals_all = np.bincount(label_map[inside], values[inside], minlength=count)[:count]
        sizes_all = np.bincount(label_map[inside], minlength=count)[:count]
        totals = np.where(thin, totals_all, totals)
        sizes = np.where(thin, sizes_all, sizes)
    return totals / np.maximum(sizes, 1)


def _to_work_size(image: np.ndarray) -> np.ndarray:
    long_side = max(image.shape[:2])
    if long_side <= WORK_SIZE:
        return image
    scale = WORK_SIZE / long_side
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def check_scorer_inputs(distorted: np.ndarray, clean: np.ndarray, label_map: np.ndarray) -> None:
    if distorted.shape != clean.shape:
        raise PandaInputError(f'distorted image {distorted.shape} and clean image {clean.shape} '
                              'differ in size; they must be aligned pairs of the same size')
    if label_map.shape != clean.shape[:2]:
        raise PandaInputError(f'label map {label_map.shape} does not match image {clean.shape[:2]}')


#: Scorer factories by spec prefix: ``factory(argument, device) -> scorer``.
_SCHEMES: dict = {}


def register_scorer_scheme(prefix: str, factory) -> None:
    """Make ``build_scorer('<prefix>:<argument>')`` call ``factory(argument, device)``.

    Args:
        prefix: Spec prefix, e.g. ``'pyiqa'``.
        factory: Callable returning a region scorer.
    """
    _SCHEMES[prefix] = factory


def build_scorer(spec='ssim_psnr', device: str = 'cpu'):
    """Make a region scorer from its name.

    Args:
        spec: A measure of ``PixelMapScorer``, ``'<scheme>:<argument>'`` of a registered scheme,
            or a callable ``(distorted, clean, label_map) -> scores``. Default: ``'ssim_psnr'``.
        device: Torch device for scorers that use one. Default: ``'cpu'``.

    Returns:
        A region scorer.
    """
    if callable(spec):
        return spec
    if spec in PixelMapScorer.MEASURES:
        return PixelMapScorer(spec)
    prefix, _, argument = str(spec).partition(':')
    if argument and prefix in _SCHEMES:
        return _SCHEMES[prefix](argument, device)
    accepted = [*PixelMapScorer.MEASURES, *(f'{name}:...' for name in _SCHEMES)]
    hint = '' if 'pyiqa' in _SCHEMES else ' (pyiqa:<metric> and topiq_fr:<weights> after import pyiqa)'
    raise PandaInputError(f'unknown scorer {spec!r}; accepted: {", ".join(accepted)}{hint}')
