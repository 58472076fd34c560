"""Training loss of PANDA: the paper's weighted terms plus an optional quality-margin term."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from panda_plugin.core.region_labels import SIDES, label_field


class PandaLoss(nn.Module):
    """Weighted sum over valid regions (defaults are the official ones):
    ``relation_weight * CE(relation) + distortion_weight * CE(distortion)
    + severity_weight * CE(severity) + score_weight * L1(score) + margin_weight * margin``.

    The margin term (after MR-IQA) penalises the error of predicted score differences against
    labelled ones: between the anchor and target of each region and between the regions of
    each image.

    Args:
        relation_weight: Default: 0.1. relation_smoothing: Default: 0.3.
        distortion_weight: Default: 1.0. distortion_smoothing: Default: 0.5.
        severity_weight: Default: 0.1. severity_smoothing: Default: 0.5.
        score_weight: Default: 1.0.
        margin_weight: Default: 0 (off).
        loss_weight: Overall factor (BasicSR convention). Default: 1.0.
    """

    def __init__(self, relation_weight: float = 0.1, relation_smoothing: float = 0.3,
                 distortion_weight: float = 1.0, distortion_smoothing: float = 0.5,
                 severity_weight: float = 0.1, severity_smoothing: float = 0.5,
                 score_weight: float = 1.0, margin_weight: float = 0.0, loss_weight: float = 1.0):
        super().__init__()
        self.weights = {'relation': relation_weight, 'distortion': distortion_weight,
                        'severity': severity_weight, 'score': score_weight, 'margin': margin_weight}
        self.smoothing = {'relation': relation_smoothing, 'distortion': distortion_smoothing,
                          'severity': severity_smoothing}
        self.loss_weight = loss_weight

    def forward(self, outputs: dict, batch: dict) -> tuple[torch.Tensor, dict]:
        """Compute the loss.

        Args:
            outputs: Predictions of ``PANDA`` (R slots).
            batch: Labels from ``PandaSetDataset`` (padded to at least R slots).

        Returns:
            (total loss, dict of the unweighted terms as ``l_<term>`` tensors).
        """
        count = outputs['relation'].shape[1]
        valid = batch['region_valid'][:, :count]
        terms = {'relation': self._cross_entropy('relation', outputs['relation'], batch['relation'][:, :count], valid)}
        for name in ('distortion', 'severity'):
            terms[name] = sum(self._cross_entropy(name, outputs[label_field(s, name)],
                                                  batch[label_field(s, name)][:, :count], valid) for s in SIDES) / 2
        predicted = {s: outputs[label_field(s, 'score')] for s in SIDES}
        labelled = {s: batch[label_field(s, 'score')][:, :count] for s in SIDES}
        terms['score'] = sum(F.l1_loss(predicted[s][valid], labelled[s][valid]) for s in SIDES) / 2
        if self.weights['margin'] > 0:
            terms['margin'] = self._margin(predicted, labelled, valid)
        total = sum(self.weights[name] * value for name, value in terms.items())
        return self.loss_weight * total, {f'l_{name}': value.detach() for name, value in terms.items()}

    def _cross_entropy(self, name: str, logits: torch.Tensor, labels: torch.Tensor,
                       valid: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits[valid], labels[valid], label_smoothing=self.smoothing[name])

    @staticmethod
    def _margin(predicted: dict, labelled: dict, valid: torch.Tensor) -> torch.Tensor:
        across = (predicted['anchor'] - predicted['target']) - (labelled['anchor'] - labelled['target'])
        terms = [across[valid].abs().mean()]
        pair_valid = (valid[:, :, None] & valid[:, None, :]).float()
        for side in SIDES:
            p, t = predicted[side], labelled[side]
            error = ((p[:, :, None] - p[:, None, :]) - (t[:, :, None] - t[:, None, :])).abs()
            terms.append((error * pair_valid).sum() / pair_valid.sum().clamp(min=1))
        return sum(terms) / len(terms)
