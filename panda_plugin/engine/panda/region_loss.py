"""``PandaRegionLoss``: a region-aware restoration loss from PANDA's graph against the ground truth."""
from __future__ import annotations

import torch
from torch import nn

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.options import check_choice, check_number, reject_unknown
from panda_plugin.engine.panda.fidelity import padded
from panda_plugin.engine.panda.human_fidelity import reference_fidelity
from panda_plugin.engine.panda.metric import PandaMetric, checked_rgb
from panda_plugin.engine.panda.predictor import label_maps_of
from panda_plugin.engine.panda.weights import DEFAULT_WEIGHTS


class PandaRegionLoss(nn.Module):
    """Region-aware loss from PANDA's graph of the restored image against the ground truth.

    Modes:
        ``'region'``: a pixel L1 loss whose weight in each region grows with how far the
            region is from the ground truth: ``w = 1 + strength * (1 - score)``, normalised
            to mean 1 per image (the scores are not differentiated).
        ``'score'``: ``1 - PANDA score`` of each image, differentiable.
        ``'texture'``: ``1 - PANDA texture`` of each image (``engine.texture``), differentiable:
            a perceptual loss without pretrained weights that asks each region for the
            texture statistics of the ground truth rather than its exact pixels.

    Scores are the reference-mode region scores of ``PandaMetric`` (fidelity to the ground
    truth, or texture in ``'texture'`` mode; 1 for identical regions).

    Args:
        loss_weight: Multiplier of the loss. Default: 1.0.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``. Default: ``'mean'``.
        mode: ``'region'``, ``'score'`` or ``'texture'``. Default: ``'region'``.
        strength: Extra weight of a region of score 0 in ``'region'`` mode. Default: 1.0.
        weights: Shipped weights name or weights file. Default: ``'panda-tiny'``.
        segmenter: Region proposer spec, run on the ground truth. Default: ``'superpixel'``.
    """

    MODES = ('region', 'score', 'texture')
    REDUCTIONS = ('mean', 'sum', 'none')

    def __init__(self, loss_weight: float = 1.0, reduction: str = 'mean', mode: str = 'region',
                 strength: float = 1.0, weights=DEFAULT_WEIGHTS, segmenter='superpixel', **unknown):
        super().__init__()
        reject_unknown('panda_opt', unknown, ('loss_weight', 'reduction', 'mode', 'strength', 'weights', 'segmenter'))
        check_choice('panda_opt', 'mode', mode, self.MODES)
        check_choice('panda_opt', 'reduction', reduction, self.REDUCTIONS)
        check_number('panda_opt', 'loss_weight', loss_weight, minimum=0)
        check_number('panda_opt', 'strength', strength, minimum=0)
        self.loss_weight, self.reduction, self.mode, self.strength = float(loss_weight), reduction, mode, strength
        self.metric = PandaMetric(weights, segmenter, score='texture' if mode == 'texture' else 'fidelity')

    def forward(self, pred: torch.Tensor, target: torch.Tensor, **kwargs) -> torch.Tensor:
        """Args:
            pred: Bx3xHxW restored images (about [0, 1]).
            target: Bx3xHxW ground truth.

        Returns:
            The weighted loss (a scalar unless ``reduction='none'``).
        """
        self.metric.eval()
        if self.mode == 'region':
            checked_rgb(target, 'ground truth')
            if pred.shape != target.shape or not torch.isfinite(pred).all():
                raise PandaInputError(f'restored images: {tuple(pred.shape)} (finite values needed); accepted: '
                                      f'the shape of the ground truth, {tuple(target.shape)}')
        if self.mode in ('score', 'texture'):
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
            scores = padded(reference_fidelity(pred.clamp(0, 1), target.clamp(0, 1), label_maps)).to(pred.dtype)
            region_weights = 1 + self.strength * (1 - scores)
            index = label_maps.clamp(min=0).flatten(1)
            weights = torch.gather(region_weights, 1, index).view_as(label_maps)
            weights = torch.where(label_maps >= 0, weights, torch.ones_like(weights))
            return (weights / weights.mean((1, 2), keepdim=True))[:, None]
