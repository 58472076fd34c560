"""Click-prompted regions: one click per object, turned into a label map."""
from panda_plugin.engine.points.clicks import KINDS, Clicks, read_clicks
from panda_plugin.engine.points.proposer import DEFAULT_METHOD, METHODS, ClickSegmenter, click_regions

__all__ = ['Clicks', 'ClickSegmenter', 'DEFAULT_METHOD', 'KINDS', 'METHODS', 'click_regions', 'read_clicks']
