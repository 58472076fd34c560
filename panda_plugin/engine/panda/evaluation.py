"""Benchmark metrics pooled over regions, as the paper reports them.

Relation on the anchor side; accuracy and macro F1 of distortion and severity computed on the
anchor and on the target regions and averaged; SRCC/PLCC of region scores pooled over both
sides. Macro F1 averages over the classes present in the labels or the predictions
(scikit-learn's convention).
"""
from __future__ import annotations

import numpy as np
from scipy.stats import pearsonr, spearmanr

from panda_plugin.core.region_labels import LABEL_FIELDS, SIDES, RegionLabels, label_field

METRICS = ('relation_acc', 'relation_f1', 'distortion_acc', 'distortion_f1', 'severity_acc',
           'severity_f1', 'srcc', 'plcc')


def macro_f1(labels: np.ndarray, predictions: np.ndarray) -> float:
    """Macro-averaged F1 over the classes that occur in labels or predictions.

    Args:
        labels: Integer class labels.
        predictions: Integer predicted classes, same length.

    Returns:
        Macro F1 in [0, 1].
    """
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    scores = []
    for cls in np.union1d(labels, predictions):
        true_positive = np.sum((labels == cls) & (predictions == cls))
        predicted, actual = np.sum(predictions == cls), np.sum(labels == cls)
        precision = true_positive / predicted if predicted else 0.0
        recall = true_positive / actual if actual else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return float(np.mean(scores)) if scores else 0.0


def _correlation(function, x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0
    return float(function(x, y)[0])


def region_metrics(labels: dict, predictions: dict) -> dict:
    """All benchmark metrics from pooled region arrays.

    Args:
        labels: One array per key of ``LABEL_FIELDS`` (valid regions of all pairs, concatenated).
        predictions: The same keys, predicted.

    Returns:
        Dict with the keys of ``METRICS``.
    """
    def accuracy(key):
        return float(np.mean(labels[key] == predictions[key])) if len(labels[key]) else 0.0

    result = {'relation_acc': accuracy('relation'),
              'relation_f1': macro_f1(labels['relation'], predictions['relation'])}
    for name in ('distortion', 'severity'):
        sides = [label_field(side, name) for side in SIDES]
        result[f'{name}_acc'] = float(np.mean([accuracy(key) for key in sides]))
        result[f'{name}_f1'] = float(np.mean([macro_f1(labels[key], predictions[key]) for key in sides]))
    scores = [label_field(side, 'score') for side in SIDES]
    truth = np.concatenate([labels[key] for key in scores]).astype(float)
    guess = np.concatenate([predictions[key] for key in scores]).astype(float)
    result['srcc'] = _correlation(spearmanr, guess, truth)
    result['plcc'] = _correlation(pearsonr, guess, truth)
    return result


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, classes: int) -> np.ndarray:
    """Counts of (label, prediction) pairs.

    Args:
        labels: Integer labels.
        predictions: Integer predictions, same length.
        classes: Number of classes.

    Returns:
        ``classes x classes`` int64 matrix, rows = labels.
    """
    flat = np.asarray(labels, np.int64) * classes + np.asarray(predictions, np.int64)
    return np.bincount(flat, minlength=classes * classes).reshape(classes, classes)


def baseline_predictions(labels: dict, kind: str, seed: int = 0) -> dict:
    """Predictions of a label-blind baseline for the same regions.

    Args:
        labels: Collected label arrays (keys of ``LABEL_FIELDS``).
        kind: ``'random'`` (uniform classes and scores, seeded) or ``'majority'`` (the most
            frequent label of each field, the mean score).
        seed: Seed of the random baseline.

    Returns:
        Arrays with the keys of ``LABEL_FIELDS``.
    """
    rng = np.random.default_rng(seed)
    result = {}
    for key, classes in LABEL_FIELDS.items():
        values = labels[key]
        if kind == 'random':
            result[key] = rng.random(len(values)) if not classes else rng.integers(0, classes, len(values))
        elif not classes:
            result[key] = np.full(len(values), float(np.mean(values)) if len(values) else 0.0)
        else:
            result[key] = np.full(len(values), int(np.bincount(values, minlength=classes).argmax()))
    return result


class RegionAccumulator:
    """Collects labels and predictions of many pairs, then computes ``region_metrics``."""

    def __init__(self):
        self.labels: dict = {key: [] for key in LABEL_FIELDS}
        self.predictions: dict = {key: [] for key in LABEL_FIELDS}

    def add(self, labels: RegionLabels, predictions: RegionLabels) -> None:
        """Add one pair (or batch) of per-region labels.

        Args:
            labels: numpy labels of the valid regions.
            predictions: The predictions for the same regions.
        """
        for store, source in ((self.labels, labels), (self.predictions, predictions)):
            for key, values in source.as_dict().items():
                store[key].append(np.asarray(values).ravel())

    def collected(self) -> tuple[dict, dict]:
        """(labels, predictions) concatenated over everything added."""
        def join(store):
            return {key: np.concatenate(v) if v else np.zeros(0) for key, v in store.items()}

        return join(self.labels), join(self.predictions)

    def compute(self) -> dict:
        """Metrics over everything added."""
        return region_metrics(*self.collected())
