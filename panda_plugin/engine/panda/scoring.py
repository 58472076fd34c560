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

import numpy as np
import torch

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.panda import fidelity
from panda_plugin.engine.panda.fidelity import BORDER
from panda_plugin.engine.tensors import rgb8_to_tensor


class PixelMapScorer:
    """Scores regions by pooling per-pixel maps over each region's interior.

    Measures: ``ssim`` (luminance SSIM), ``ssim_color`` (luminance SSIM times a CIELAB
    colour similarity ``exp(-dE / colour_scale)``), ``psnr`` (PSNR of the pooled squared
    error), and ``ssim_psnr`` (default: geometric mean of calibrated ``ssim_color`` and
    ``psnr``, which tracks structural and photometric distortions alike). The measures are
    those of ``engine.panda.fidelity`` (one torch implementation, shared with reference mode); a
    region identical in both images scores exactly 1.

    Args:
        measure: One of the measures above. Default: ``'ssim_psnr'``.
        calibrations: Per component (``'ssim'``, ``'ssim_color'``, ``'psnr'``), the map from
            its pooled raw value to [0, 1]. Default: ``DEFAULT_CALIBRATIONS``.
        colour_scale: CIELAB distance at which the colour similarity falls to 1/e.
            Default: 30.
    """

    MEASURES = fidelity.MEASURES
    DEFAULT_CALIBRATIONS = fidelity.DEFAULT_CALIBRATIONS

    def __init__(self, measure: str = 'ssim_psnr', calibrations: dict | None = None,
                 colour_scale: float = fidelity.COLOUR_SCALE):
        fidelity.check_measure(measure)
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
        with torch.no_grad():
            scores = fidelity.region_fidelity(rgb8_to_tensor(distorted), rgb8_to_tensor(clean), label_map, self.measure,
                                              self.calibrations, self.colour_scale, BORDER)
        return scores.numpy()


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
    pooling = fidelity.RegionPooling(label_map, border)
    return pooling(torch.from_numpy(np.ascontiguousarray(values, np.float64))).numpy()


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
