"""The pyiqa metric ``panda``: registered as soon as both pyiqa and panda_plugin are imported.

``import panda_plugin`` does not import pyiqa (it is slow to import): when pyiqa is already
imported the metric is registered at once, otherwise right after pyiqa's own import finishes.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import sys

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

    from ..metric import PandaMetric

    if 'PandaMetric' not in ARCH_REGISTRY:
        ARCH_REGISTRY.register(PandaMetric)
    DEFAULT_CONFIGS.setdefault(METRIC_NAME, METRIC_CONFIG)


def register_when_imported() -> None:
    """Register the metric now if pyiqa is imported, else once it is."""
    if 'pyiqa' in sys.modules and hasattr(sys.modules['pyiqa'], 'create_metric'):
        register_pyiqa_metric()
    elif not any(isinstance(finder, _PyiqaWatcher) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PyiqaWatcher())


class _PyiqaWatcher(importlib.abc.MetaPathFinder):
    """Finds pyiqa through the other finders and registers the metric after it has loaded."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != 'pyiqa':
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _RegisteringLoader(spec.loader)
        return spec


class _RegisteringLoader(importlib.abc.Loader):
    """pyiqa's own loader, followed by ``register_pyiqa_metric``."""

    def __init__(self, loader):
        self._loader = loader

    def __getattr__(self, name):
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        register_pyiqa_metric()
