"""``ClickSegmenter``: a region proposer that turns clicks into a label map.

Methods: ``'euclidean'`` (nearest click), ``'geodesic'`` (cheapest colour-edge path, PSPS
style) and ``'learned'`` (a learned pixel-to-click distance: the shipped ``points-boundary``
weights, cheapest paths over a border cost learned from clicks, unless ``weights=`` names others).
"""
from __future__ import annotations

import numpy as np

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.image_io import load_image
from panda_plugin.engine.points.clicks import Clicks, read_clicks
from panda_plugin.engine.points.euclidean import euclidean_regions
from panda_plugin.engine.points.geodesic import geodesic_regions

METHODS = ('learned', 'geodesic', 'euclidean')
#: ``'learned'`` (shipped ``points-boundary``): 8.5 PQ above ``geodesic`` on held-out scenes
#: (docs/points.md).
DEFAULT_METHOD = 'learned'


def click_regions(image, clicks, method: str = DEFAULT_METHOD, weights=None, rounds=None,
                  **options) -> np.ndarray:
    """Regions of the clicked objects of one image.

    Args:
        image: Path, PIL image, HxWx3 uint8 array or tensor (see ``image_io.load_image``).
        clicks: Anything ``clicks.read_clicks`` accepts.
        method: One of ``METHODS``. Default: ``DEFAULT_METHOD`` (``'learned'``).
        weights: ``'learned'`` only: weights name or path, or a network of ``learned.CLICK_NETWORKS``.
        rounds: ``'learned'`` with a network that refines only: refinement rounds (default: the
            weights' own).
        **options: Method options (``edge_weight``, ``power``, ``work_size`` for ``'geodesic'``).

    Returns:
        int32 HxW label map covering every pixel: region ``i`` is click ``i``'s.
    """
    image = load_image(image, min_side=1)
    if method not in METHODS:
        raise PandaInputError(f'click method {method!r}; accepted: {", ".join(METHODS)}')
    max_clicks = None
    if method == 'learned':
        from panda_plugin.engine.points.learned import load_point_model

        network = load_point_model(weights)
        max_clicks = getattr(network, 'max_clicks', None)
    clicks = read_clicks(clicks, image.shape[:2], max_clicks)
    if method == 'euclidean':
        _reject(options, method)
        return euclidean_regions(image.shape[:2], clicks.xy)
    if method == 'geodesic':
        return geodesic_regions(image, clicks.xy, **options)
    from panda_plugin.engine.points.learned import learned_regions

    _reject(options, method)
    return learned_regions(network, image, clicks, rounds=rounds)


class ClickSegmenter:
    """Region proposer from a fixed set of clicks (for ``compare``, BasicSR and pyiqa).

    Args:
        clicks: Anything ``clicks.read_clicks`` accepts (checked against each image's size).
        method: One of ``METHODS``. Default: ``DEFAULT_METHOD`` (``'learned'``).
        weights: ``'learned'`` only: weights name or path. Default: shipped ``points-boundary``.
        rounds: ``'learned'`` only: refinement rounds. Default: the weights' own.
        **options: Method options (see ``click_regions``).
    """

    def __init__(self, clicks, method: str = DEFAULT_METHOD, weights=None, rounds=None, **options):
        if method not in METHODS:
            raise PandaInputError(f'click method {method!r}; accepted: {", ".join(METHODS)}')
        self.clicks = clicks if isinstance(clicks, Clicks) else read_clicks(clicks)
        self.method = method
        self.weights = weights
        self.rounds = rounds
        self.options = options

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Regions of the clicked objects.

        Args:
            image: HxWx3 uint8 RGB.

        Returns:
            int32 HxW label map, region ``i`` for click ``i``.
        """
        return click_regions(image, self.clicks, self.method, self.weights, self.rounds, **self.options)


def _reject(options: dict, method: str) -> None:
    if options:
        raise PandaInputError(f'options {sorted(options)} do not apply to click method {method!r}')
