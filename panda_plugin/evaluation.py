"""Benchmark metrics pooled over regions, as the paper reports them.

Relation on the anchor side; distortion and severity pooled over anchor and target regions;
SRCC/PLCC of region scores pooled over both sides. F1 is the macro average over the classes
present in the labels or the predictions (scikit-learn's convention).
"""
from __future__ import annotations

import numpy as np
from scipy.stats import pearsonr, spearmanr

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
        labels: Arrays ``relation``, ``distortion``, ``severity`` (anchor and target
            concatenated for the last two) and ``score`` (likewise).
        predictions: The same keys, predicted.

    Returns:
        Dict with the keys of ``METRICS``.
    """
    result = {}
    for name in ('relation', 'distortion', 'severity'):
        truth, guess = np.asarray(labels[name]), np.asarray(predictions[name])
        result[f'{name}_acc'] = float(np.mean(truth == guess)) if len(truth) else 0.0
        result[f'{name}_f1'] = macro_f1(truth, guess)
    truth, guess = np.asarray(labels['score'], float), np.asarray(predictions['score'], float)
    result['srcc'] = _correlation(spearmanr, guess, truth)
    result['plcc'] = _correlation(pearsonr, guess, truth)
    return result


class RegionAccumulator:
    """Collects labels and predictions of many pairs, then computes ``region_metrics``."""

    def __init__(self):
        self.labels: dict = {k: [] for k in ('relation', 'distortion', 'severity', 'score')}
        self.predictions: dict = {k: [] for k in ('relation', 'distortion', 'severity', 'score')}

    def add(self, labels: dict, predictions: dict) -> None:
        """Add one pair (or batch) of per-region arrays.

        Args:
            labels: ``relation`` (anchor side) and ``<side>_distortion``, ``<side>_severity``,
                ``<side>_score`` for both sides, valid regions only.
            predictions: The same keys.
        """
        for store, source in ((self.labels, labels), (self.predictions, predictions)):
            store['relation'].append(np.asarray(source['relation']).ravel())
            for name in ('distortion', 'severity', 'score'):
                store[name] += [np.asarray(source[f'{side}_{name}']).ravel() for side in ('anchor', 'target')]

    def compute(self) -> dict:
        """Metrics over everything added."""
        def join(store):
            return {k: np.concatenate(v) if v else np.zeros(0) for k, v in store.items()}

        return region_metrics(join(self.labels), join(self.predictions))
