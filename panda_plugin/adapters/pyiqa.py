"""The pyiqa metric ``panda`` (registered by ``adapters.import_hooks`` when pyiqa is imported)."""
from __future__ import annotations

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
    """Add ``panda`` to pyiqa's metrics (idempotent)."""
    from pyiqa.default_model_configs import DEFAULT_CONFIGS
    from pyiqa.utils.registry import ARCH_REGISTRY

    from panda_plugin.engine.metric import PandaMetric

    if 'PandaMetric' not in ARCH_REGISTRY:
        ARCH_REGISTRY.register(PandaMetric)
    DEFAULT_CONFIGS.setdefault(METRIC_NAME, METRIC_CONFIG)
