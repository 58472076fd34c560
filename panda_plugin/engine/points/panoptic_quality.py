"""Class-agnostic panoptic quality (PQ = SQ x RQ, Kirillov et al. 2019) of label maps.

A predicted and a ground-truth segment match when their IoU exceeds 0.5 (such a match is
unique). Counts and IoUs are summed over all images before the ratios are taken, as in the
COCO panoptic evaluation; there is no void label and no class.
"""
from __future__ import annotations

import numpy as np


class PanopticQuality:
    """Accumulates matches over images.

    Call ``update(prediction, truth)`` per image, then ``result()``.
    """

    def __init__(self):
        self.iou_sum = 0.0
        self.tp = self.fp = self.fn = 0

    def update(self, prediction: np.ndarray, truth: np.ndarray) -> None:
        """Add one image.

        Args:
            prediction: HxW int label map (segments ``0..P-1``).
            truth: HxW int label map (segments ``0..G-1``), same size.
        """
        prediction = np.asarray(prediction, np.int64).ravel()
        truth = np.asarray(truth, np.int64).ravel()
        predicted, found = int(prediction.max()) + 1, int(truth.max()) + 1
        joint = np.bincount(truth * predicted + prediction, minlength=found * predicted).reshape(found, predicted)
        union = joint.sum(1, keepdims=True) + joint.sum(0, keepdims=True) - joint
        iou = joint / np.maximum(union, 1)
        matched = iou > 0.5
        pred_areas, true_areas = joint.sum(0), joint.sum(1)
        self.tp += int(matched.sum())
        self.iou_sum += float(iou[matched].sum())
        self.fp += int(((~matched.any(0)) & (pred_areas > 0)).sum())
        self.fn += int(((~matched.any(1)) & (true_areas > 0)).sum())

    def result(self) -> dict:
        """PQ, SQ and RQ in percent, and the counts.

        Returns:
            Dict with ``pq``, ``sq``, ``rq`` (0-100), ``tp``, ``fp``, ``fn``.
        """
        sq = self.iou_sum / self.tp if self.tp else 0.0
        denominator = self.tp + 0.5 * self.fp + 0.5 * self.fn
        rq = self.tp / denominator if denominator else 0.0
        return {'pq': 100 * sq * rq, 'sq': 100 * sq, 'rq': 100 * rq, 'tp': self.tp, 'fp': self.fp,
                'fn': self.fn}


def panoptic_quality(predictions, truths) -> dict:
    """PQ over pairs of label maps (see ``PanopticQuality.result``)."""
    meter = PanopticQuality()
    for prediction, truth in zip(predictions, truths):
        meter.update(prediction, truth)
    return meter.result()
