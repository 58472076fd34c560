"""Figure assembly shared by the benchmark scripts (run from the repository root)."""
from __future__ import annotations

import numpy as np


def stack_rows(rows: list[np.ndarray]) -> np.ndarray:
    """Stack HxWx3 picture rows of different widths, padded white on the right and below.

    Args:
        rows: uint8 rows, each of any width.

    Returns:
        One uint8 picture, 4 white pixels between rows.
    """
    width = max(row.shape[1] for row in rows)
    return np.concatenate([np.pad(row, ((0, 4), (0, width - row.shape[1]), (0, 0)), constant_values=255)
                           for row in rows], 0)
