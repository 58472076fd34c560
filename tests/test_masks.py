import numpy as np
import pytest

from panda_plugin import PandaInputError
from panda_plugin.core.masks import (boxes_and_areas, label_map_from_array, label_map_from_masks, rle_decode,
                                rle_encode)


def test_rle_round_trip_on_random_and_edge_masks():
    rng = np.random.default_rng(1)
    masks = [rng.random((37, 53)) > 0.5, np.ones((5, 7), bool), np.zeros((4, 4), bool)]
    edge = np.zeros((9, 11), bool)
    edge[0, 0] = edge[-1, -1] = True
    masks.append(edge)
    for mask in masks:
        encoded = rle_encode(mask)
        assert encoded['size'] == list(mask.shape) and isinstance(encoded['counts'], str)
        np.testing.assert_array_equal(rle_decode(encoded), mask)


def test_rle_decodes_uncompressed_counts_column_major():
    mask = rle_decode({'size': [2, 3], 'counts': [1, 2, 3]})
    np.testing.assert_array_equal(mask, [[False, True, False], [True, False, False]])


def test_rle_rejects_wrong_totals():
    with pytest.raises(PandaInputError, match='sum to 5'):
        rle_decode({'size': [2, 3], 'counts': [1, 4]})


def test_label_map_relabels_and_ignores():
    labels = np.array([[7, 7, 0], [3, 3, 0]])
    np.testing.assert_array_equal(label_map_from_array(labels), [[2, 2, 0], [1, 1, 0]])
    np.testing.assert_array_equal(label_map_from_array(labels, ignore=0), [[1, 1, -1], [0, 0, -1]])


def test_masks_must_be_disjoint_and_non_empty():
    masks = np.zeros((2, 4, 4), bool)
    masks[0, :2] = True
    with pytest.raises(PandaInputError, match=r'masks \[1\] are empty'):
        label_map_from_masks(masks)
    masks[1, 1:] = True
    with pytest.raises(PandaInputError, match='overlap on 4 pixels'):
        label_map_from_masks(masks)


def test_boxes_and_areas():
    label_map = -np.ones((10, 20), np.int32)
    label_map[2:5, 3:9] = 0
    label_map[6:10, 15:20] = 1
    boxes, areas = boxes_and_areas(label_map)
    assert boxes.tolist() == [[3, 2, 6, 3], [15, 6, 5, 4]]
    assert areas.tolist() == [18, 20]
