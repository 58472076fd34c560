"""PANDA: Panoptic Pairwise Distortion Graphs for image restoration research."""
from .errors import PandaInputError
from .taxonomy import DISTORTIONS, RELATIONS, SEVERITIES

__version__ = '0.1.0'
__all__ = ['DISTORTIONS', 'RELATIONS', 'SEVERITIES', 'PandaInputError', '__version__']
