"""pyiqa: the metric ``panda`` (registered by ``adapters.import_hooks`` when pyiqa is imported)
and pyiqa full-reference metrics as region scorers (``pyiqa:<name>``, ``topiq_fr:<weights>``)."""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.masks import boxes_and_areas
from panda_plugin.engine.panda.fidelity import Calibration
from panda_plugin.engine.panda.scoring import check_scorer_inputs, register_scorer_scheme
from panda_plugin.engine.tensors import rgb8_to_tensor

#: pyiqa's name of the metric.
METRIC_NAME = 'panda'
#: pyiqa's default configuration of the metric; keyword arguments of ``create_metric``
#: (``weights=``, ``segmenter=``) override ``metric_opts``.
METRIC_CONFIG = {
    'metric_opts': {'type': 'PandaMetric'},
    'metric_mode': 'FR',
    'lower_better': False,
    'score_range': '0, 1',
}


def register_pyiqa_metric() -> None:
    """Add ``panda`` to pyiqa's metrics (idempotent).

    ``pyiqa.create_metric('panda')`` leaves the input check to ``PandaMetric`` (pyiqa's own
    asserts that values are strictly inside [0, 1 + 1e-6], which half-precision images of value 1
    fail, and its failures are ``AssertionError`` tracebacks, not one line).
    """
    import pyiqa
    import pyiqa.api_helpers
    from pyiqa.default_model_configs import DEFAULT_CONFIGS
    from pyiqa.utils.registry import ARCH_REGISTRY

    from panda_plugin.engine.panda.metric import PandaMetric

    if 'PandaMetric' not in ARCH_REGISTRY:
        ARCH_REGISTRY.register(PandaMetric)
    DEFAULT_CONFIGS.setdefault(METRIC_NAME, METRIC_CONFIG)
    if not getattr(pyiqa.api_helpers.create_metric, 'panda_checks_inputs', False):
        pyiqa.api_helpers.create_metric = pyiqa.create_metric = _metric_checking_inputs(pyiqa.api_helpers.create_metric)


def _metric_checking_inputs(create_metric):
    """pyiqa's ``create_metric`` with ``check_input_range=False`` for ``panda``."""
    @functools.wraps(create_metric)
    def create(metric_name, as_loss=False, device=None, **kwargs):
        if metric_name == METRIC_NAME:
            kwargs.setdefault('check_input_range', False)
        return create_metric(metric_name, as_loss=as_loss, device=device, **kwargs)

    create.panda_checks_inputs = True
    return create


def pyiqa_scorer(metric: str, device: str = 'cpu') -> PyiqaRegionScorer:
    """Scheme ``pyiqa:<metric>`` of ``scoring.build_scorer``."""
    return PyiqaRegionScorer(metric, device=device)


def topiq_scorer(path: str, device: str = 'cpu') -> PyiqaRegionScorer:
    """Scheme ``topiq_fr:<weights path>`` of ``scoring.build_scorer``."""
    if not Path(path).is_file():
        raise PandaInputError(f'TOPIQ-FR weights file {path!r} does not exist')
    return PyiqaRegionScorer('topiq_fr', device=device, pretrained_model_path=path)


class PyiqaRegionScorer:
    """Scores regions with a pyiqa full-reference metric on bounding-box crops.

    Each region's crop of the distorted image has its pixels outside the region replaced by
    the clean image, so only the region's own distortion counts.

    Args:
        metric: pyiqa metric name (e.g. ``'ssim'``, ``'fsim'``, ``'topiq_fr'``).
        calibration: Map from the metric value (after flipping lower-is-better metrics
            onto higher-is-better) to the score. Default: from pyiqa's score range.
        min_crop: Crops are padded around the region to at least this side. Default: 64.
        device: Torch device. Default: ``'cpu'``.
        **metric_kwargs: Passed to ``pyiqa.create_metric`` (e.g. ``pretrained_model_path``).
    """

    def __init__(self, metric: str, calibration: Calibration | None = None, min_crop: int = 64,
                 device: str = 'cpu', **metric_kwargs):
        try:
            import pyiqa
        except ImportError:
            raise PandaInputError(
                f'scorer pyiqa:{metric} needs pyiqa; install it with: pip install pyiqa') from None
        if metric not in pyiqa.list_models(metric_mode='FR'):
            raise PandaInputError(f'{metric!r} is not a pyiqa full-reference metric; accepted: '
                                  f'{", ".join(pyiqa.list_models(metric_mode="FR"))}')
        self.metric = pyiqa.create_metric(metric, device=device, **metric_kwargs)
        self.lower_better = bool(self.metric.lower_better)
        if calibration is None:
            low, high = _score_range(self.metric)
            calibration = Calibration(-high, -low) if self.lower_better else Calibration(low, high)
        self.calibration = calibration
        self.min_crop = min_crop

    def __call__(self, distorted: np.ndarray, clean: np.ndarray, label_map: np.ndarray,
                 regions=None) -> np.ndarray:
        """Score every region of ``distorted`` against ``clean``.

        Args:
            distorted: HxWx3 uint8 RGB image.
            clean: HxWx3 uint8 RGB reference of the same size.
            label_map: int32 HxW label map.
            regions: Ids of the regions to score (the others are NaN). Default: all.

        Returns:
            float64 array of N scores in [0, 1].
        """
        import torch

        check_scorer_inputs(distorted, clean, label_map)
        boxes, _ = boxes_and_areas(label_map)
        height, width = label_map.shape
        wanted = set(range(len(boxes)) if regions is None else (int(r) for r in regions))
        raw = []
        for index, (x, y, w, h) in enumerate(boxes):
            if index not in wanted:
                raw.append(np.nan)
                continue
            x0, x1 = _pad_span(x, w, self.min_crop, width)
            y0, y1 = _pad_span(y, h, self.min_crop, height)
            inside = (label_map[y0:y1, x0:x1] == index)[..., None]
            crop = np.where(inside, distorted[y0:y1, x0:x1], clean[y0:y1, x0:x1])
            pair = [rgb8_to_tensor(a).contiguous()[None]
                    for a in (crop, clean[y0:y1, x0:x1])]
            with torch.no_grad():
                value = float(self.metric(*pair).reshape(-1)[0])
            raw.append(-value if self.lower_better else value)
        return self.calibration(np.asarray(raw))


def _score_range(metric) -> tuple[float, float]:
    text = str(getattr(metric, 'score_range', '0, 1')).replace('~', ',')
    try:
        low, high = (float(part) for part in text.split(','))
    except ValueError:
        low, high = 0.0, 1.0
    return low, high


def _pad_span(start: int, length: int, minimum: int, limit: int) -> tuple[int, int]:
    size = min(max(int(length), minimum), limit)
    begin = int(np.clip(start + length // 2 - size // 2, 0, limit - size))
    return begin, begin + size



register_scorer_scheme('pyiqa', pyiqa_scorer)
register_scorer_scheme('topiq_fr', topiq_scorer)
