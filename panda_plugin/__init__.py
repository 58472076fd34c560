"""PANDA: Panoptic Pairwise Distortion Graphs for image restoration research."""
from .errors import PandaInputError
from .graph import DistortionGraph
from .integrations.pyiqa import register_when_imported
from .metric import PandaMetric
from .predictor import compare
from .taxonomy import DISTORTIONS, RELATIONS, SEVERITIES
from .weights import load_model

__version__ = '0.1.0'
register_when_imported()
__all__ = ['DISTORTIONS', 'DistortionGraph', 'PandaInputError', 'PandaMetric', 'RELATIONS', 'SEVERITIES',
           '__version__', 'compare', 'load_model']
