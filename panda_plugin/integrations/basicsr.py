"""BasicSR metric ``calculate_panda`` and loss ``PandaRegionLoss``."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..errors import PandaInputError
from ..metric import PandaMetric
from ..predictor import label_maps_of, predict
from ..weights import DEFAULT_WEIGHTS
from .basicsr_compat import import_basicsr, register

import_basicsr()

#: Option keys BasicSR adds to every metric's options.
_BASICSR_METRIC_KEYS = ('better',)
_METRICS: dict = {}


def shared_metric(weights=DEFAULT_WEIGHTS, segmenter='superpixel', device=None) -> PandaMetric:
    """One ``PandaMetric`` per (weights, segmenter, device), built on first use.

    Args:
        weights: Shipped weights name or weights file. Default: ``'panda-tiny'``.
        segmenter: Region proposer spec. Default: ``'superpixel'``.
        device: Torch device. Default: CUDA when available, else CPU.

    Returns:
        The metric module, in eval mode.
    """
    device = torch.device(device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    key = (str(weights), str(segmenter), str(device))
    if key not in _METRICS:
        _METRICS[key] = PandaMetric(weights, segmenter).to(device).eval()
    return _METRICS[key]


@register('metric')
def calculate_panda(img, img2, crop_border, input_order='HWC', test_y_channel=False,
                    weights=DEFAULT_WEIGHTS, segmenter='superpixel', **kwargs) -> float:
    """PANDA score of a restored image against its ground truth, BasicSR's way.

    Args:
        img: Restored image, uint8 BGR (as BasicSR's ``tensor2img`` gives it), HWC or CHW.
        img2: Ground truth, likewise.
        crop_border: Pixels cropped from each edge before scoring.
        input_order: ``'HWC'`` or ``'CHW'``. Default: ``'HWC'``.
        test_y_channel: Score the luma (Y of YCbCr, repeated to three channels) instead of colour.
        weights: Shipped weights name or weights file. Default: ``'panda-tiny'``.
        segmenter: Region proposer spec. Default: ``'superpixel'``.

    Returns:
        The score in [0, 1] (higher is better).
    """
    unknown = sorted(set(kwargs) - set(_BASICSR_METRIC_KEYS))
    if unknown:
        raise PandaInputError(f'unknown option(s) {", ".join(unknown)} for calculate_panda; accepted: '
                              'crop_border, input_order, test_y_channel, weights, segmenter, better')
    from basicsr.metrics.metric_util import reorder_image, to_y_channel

    if input_order not in ('HWC', 'CHW'):
        raise PandaInputError(f"input_order {input_order!r}; accepted: 'HWC', 'CHW'")
    if img.shape != img2.shape:
        raise PandaInputError(f'image shapes differ: {img.shape} and {img2.shape}')
    pair = []
    for image in (img, img2):
        image = reorder_image(image, input_order=input_order).astype(np.float32)
        if crop_border:
            image = image[crop_border:-crop_border, crop_border:-crop_border]
        if test_y_channel:
            image = np.repeat(to_y_channel(image), 3, axis=2)
        elif image.shape[2] == 3:
            image = image[..., ::-1]
        pair.append(torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None] / 255)
    metric = shared_metric(weights, segmenter)
    device = next(metric.parameters()).device
    with torch.no_grad():
        return float(metric(pair[0].clamp(0, 1).to(device), pair[1].clamp(0, 1).to(device))[0])


@register('loss')
class PandaRegionLoss(nn.Module):
    """Region-aware loss from PANDA's graph of the restored image against the ground truth.

    Modes:
        ``'region'``: a pixel L1 loss whose weight in each region grows with how bad PANDA
            judges that region: ``w = 1 + strength * (1 - score)``, normalised to mean 1 per
            image (the graph itself is not differentiated).
        ``'score'``: ``1 - PANDA score`` of each image, differentiable through PANDA (frozen).

    Args:
        loss_weight: Multiplier of the loss. Default: 1.0.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``. Default: ``'mean'``.
        mode: ``'region'`` or ``'score'``. Default: ``'region'``.
        strength: Extra weight of a region of score 0 in ``'region'`` mode. Default: 1.0.
        weights: Shipped weights name or weights file. Default: ``'panda-tiny'``.
        segmenter: Region proposer spec, run on the ground truth. Default: ``'superpixel'``.
    """

    MODES = ('region', 'score')
    REDUCTIONS = ('mean', 'sum', 'none')

    def __init__(self, loss_weight: float = 1.0, reduction: str = 'mean', mode: str = 'region',
                 strength: float = 1.0, weights=DEFAULT_WEIGHTS, segmenter='superpixel'):
        super().__init__()
        if mode not in self.MODES:
            raise PandaInputError(f'PandaRegionLoss mode {mode!r}; accepted: {", ".join(self.MODES)}')
        if reduction not in self.REDUCTIONS:
            raise PandaInputError(f'PandaRegionLoss reduction {reduction!r}; accepted: '
                                  f'{", ".join(self.REDUCTIONS)}')
        if strength < 0:
            raise PandaInputError(f'PandaRegionLoss strength {strength!r}; accepted: a number >= 0')
        self.loss_weight, self.reduction, self.mode, self.strength = float(loss_weight), reduction, mode, strength
        self.metric = PandaMetric(weights, segmenter)

    def forward(self, pred: torch.Tensor, target: torch.Tensor, **kwargs) -> torch.Tensor:
        """Args:
            pred: Bx3xHxW restored images (about [0, 1]).
            target: Bx3xHxW ground truth.

        Returns:
            The weighted loss (a scalar unless ``reduction='none'``).
        """
        self.metric.eval()
        if self.mode == 'score':
            loss = 1 - self.metric(pred.clamp(0, 1), target)
        else:
            loss = (pred - target).abs() * self.pixel_weights(pred, target)
        if self.reduction == 'mean':
            loss = loss.mean()
        elif self.reduction == 'sum':
            loss = loss.sum()
        return self.loss_weight * loss

    def pixel_weights(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Bx1xHxW weights of the ``'region'`` mode, mean 1 per image."""
        with torch.no_grad():
            label_maps = label_maps_of(target, self.metric.segmenter)
            scores = predict(self.metric.network, pred.clamp(0, 1), target.clamp(0, 1), label_maps)['anchor_score']
            region_weights = 1 + self.strength * (1 - scores)
            index = label_maps.clamp(min=0).flatten(1)
            weights = torch.gather(region_weights, 1, index).view_as(label_maps)
            weights = torch.where(label_maps >= 0, weights, torch.ones_like(weights))
            return (weights / weights.mean((1, 2), keepdim=True))[:, None]
