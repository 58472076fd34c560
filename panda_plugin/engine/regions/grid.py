"""Regions as a fixed grid of tiles, independent of image content."""
from __future__ import annotations

import numpy as np

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.image_io import load_image


class GridSegmenter:
    """Split an image into ``rows`` x ``cols`` tiles of equal size (within one pixel).

    Tiles are numbered row by row: tile ``(r, c)`` is region ``r * cols + c``.

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
            int32 HxW label map with ``rows * cols`` regions covering every pixel.
        """
        height, width = load_image(image).shape[:2]
        if self.rows > height or self.cols > width:
            raise PandaInputError(
                f'a {self.rows}x{self.cols} grid does not fit a {height}x{width} image; '
                'accepted: at most one tile row per pixel row and one tile column per pixel column')
        row_index = (np.arange(height) * self.rows // height).astype(np.int32)
        col_index = (np.arange(width) * self.cols // width).astype(np.int32)
        return row_index[:, None] * self.cols + col_index[None, :]
