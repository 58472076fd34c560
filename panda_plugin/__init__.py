"""PANDA: Panoptic Pairwise Distortion Graphs for image restoration research."""
from .errors import PandaInputError
from .graph import DistortionGraph
from .predictor import compare
from .taxonomy import DISTORTIONS, RELATIONS, SEVERITIES
from .weights import load_model

__version__ = '0.1.0'
__all__ = ['DISTORTIONS', 'DistortionGraph', 'PandaInputError', 'RELATIONS', 'SEVERITIES',
           '__version__', 'compare', 'load_model']
