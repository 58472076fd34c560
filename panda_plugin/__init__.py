"""PANDA: Panoptic Pairwise Distortion Graphs for image restoration research.

``compare``, ``duel``, ``load_model`` and ``PandaMetric`` load the engine (torch) on first use, so
importing the package is fast; the pyiqa metric and the BasicSR names are registered when
those packages are imported.
"""
from panda_plugin.adapters.import_hooks import install_import_hooks
from panda_plugin.core import graph as _graph
from panda_plugin.core.errors import PandaInputError, PandaWarning
from panda_plugin.core.graph import DistortionGraph
from panda_plugin.core.taxonomy import DISTORTIONS, RELATIONS, SEVERITIES
from panda_plugin.core.version import __version__

__all__ = ['DISTORTIONS', 'DistortionGraph', 'PandaInputError', 'PandaMetric', 'PandaWarning', 'RELATIONS',
           'SEVERITIES', '__version__', 'compare', 'duel', 'load_model']

_LAZY = {'compare': 'panda_plugin.engine.panda.predictor', 'duel': 'panda_plugin.engine.panda.duel',
         'load_model': 'panda_plugin.engine.panda.weights',
         'PandaMetric': 'panda_plugin.engine.panda.metric'}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def _save_graph_picture(graph, path, anchor_image=None, target_image=None):
    from panda_plugin.adapters.pictures.graph import save_graph_picture

    return save_graph_picture(graph, path, anchor_image, target_image)


_graph.PAINTER = _save_graph_picture
install_import_hooks()
