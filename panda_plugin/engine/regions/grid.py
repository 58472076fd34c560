"""Regions as a fixed grid of tiles, independent of image content."""
from __future__ import annotations

import numpy as np

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.masks import MIN_REGION_AREA
from panda_plugin.engine.image_io import load_image

#: Shortest tile side, in pixels: tiles are at least ``MIN_REGION_AREA`` (8x8) pixels.
MIN_TILE_SIDE = int(MIN_REGION_AREA ** 0.5)


class GridSegmenter:
    """Split an image into ``rows`` x ``cols`` tiles of equal size (within one pixel).

    Tiles are numbered row by row: tile ``(r, c)`` is region ``r * cols + c``. On an image
    too small for tiles of at least 8x8 pixels (``MIN_REGION_AREA``), the rows and columns are
    capped at one per 8 pixels of height and width (at least one each).

    Args:
        rows: Number of tile rows, at least 1. Default: 4.
        cols: Number of tile columns, at least 1. Default: 4.
    """

    def __init__(self, rows: int = 4, cols: int = 4):
        for name, value in (('rows', rows), ('cols', cols)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise PandaInputError(f'grid {name}={value!r}; accepted: an integer of at least 1')
        self.rows = int(rows)
        self.cols = int(cols)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Tile one image.

        Args:
            image: HxWx3 uint8 RGB array.

        Returns:
            int32 HxW label map with ``rows * cols`` regions (fewer on small images, see
            above) covering every pixel.
        """
        height, width = load_image(image, min_side=1).shape[:2]
        rows = min(self.rows, max(1, height // MIN_TILE_SIDE))
        cols = min(self.cols, max(1, width // MIN_TILE_SIDE))
        row_index = (np.arange(height) * rows // height).astype(np.int32)
        col_index = (np.arange(width) * cols // width).astype(np.int32)
        return row_index[:, None] * cols + col_index[None, :]
