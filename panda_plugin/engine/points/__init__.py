"""Click-prompted regions: one click per object, turned into a label map.

Adds the region specs ``'points'``/``'points:METHOD'`` and ``'panoptic'``/``'panoptic:WEIGHTS'`` to
``regions.build_segmenter``.
"""
from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.points.clicks import KINDS, Clicks, read_clicks
from panda_plugin.engine.points.proposer import DEFAULT_METHOD, METHODS, ClickSegmenter, click_regions
from panda_plugin.engine.regions import register_proposer


def _click_proposer(method, **options) -> ClickSegmenter:
    if 'points' not in options:
        spec = 'points' if method is None else f'points:{method}'
        raise PandaInputError(f"region spec {spec!r} needs points=CLICKS (e.g. [(x, y), ...])")
    if method is not None:
        options.setdefault('method', method)
    return ClickSegmenter(options.pop('points'), **options)


def _panoptic_proposer(weights, **options):
    from panda_plugin.engine.points.panoptic import PanopticSegmenter

    if weights is not None:
        if not weights:
            raise PandaInputError("region spec 'panoptic:' names no weights; accepted: 'panoptic' or "
                                  "'panoptic:NAME_OR_PATH.safetensors'")
        options.setdefault('weights', weights)
    return PanopticSegmenter(**options)


register_proposer('panoptic', _panoptic_proposer, "'panoptic' or 'panoptic:WEIGHTS'")
register_proposer('points', _click_proposer, "'points' (with points=CLICKS, method=M) or 'points:METHOD'")

__all__ = ['Clicks', 'ClickSegmenter', 'DEFAULT_METHOD', 'KINDS', 'METHODS', 'click_regions', 'read_clicks']
