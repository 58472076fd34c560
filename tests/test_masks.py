import numpy as np
import pytest

from panda_plugin import PandaInputError
from panda_plugin.core.masks import boxes_and_areas, label_map_from_array, label_map_from_masks, rle_decode, rle_encode


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


def test_boxes_and_areas_match_each_region_s_pixels_on_random_label_maps():
    rng = np.random.default_rng(0)
    for _ in range(100):
        label_map = rng.integers(-1, 6, rng.integers(1, 40, 2)).astype(np.int32)
        boxes, areas = boxes_and_areas(label_map)
        assert len(boxes) == len(areas) == label_map.max() + 1
        for index in range(len(boxes)):
            rows, cols = np.nonzero(label_map == index)
            assert areas[index] == len(rows)
            if len(rows):
                assert boxes[index].tolist() == [cols.min(), rows.min(), cols.max() - cols.min() + 1,
                                                 rows.max() - rows.min() + 1]
            else:
                assert boxes[index].tolist() == [0, 0, 0, 0]


def test_rle_is_byte_identical_to_pycocotools():
    from pycocotools import mask as coco

    rng = np.random.default_rng(1)
    masks = [np.zeros((5, 7), bool), np.ones((5, 7), bool), rng.random((64, 48)) < 0.5,
             np.pad(np.ones((30, 20), bool), ((10, 24), (3, 25))), rng.random((1, 300)) < 0.02]
    for mask in masks:
        theirs = coco.encode(np.asfortranarray(mask.astype(np.uint8)))
        ours = rle_encode(mask)
        assert ours['counts'] == theirs['counts'].decode('ascii')
        assert list(ours['size']) == list(theirs['size'])
        np.testing.assert_array_equal(rle_decode({'size': theirs['size'], 'counts': theirs['counts'].decode()}), mask)


def test_boxes_and_areas_equal_scipy_s_objects_and_pixel_counts():
    from scipy.ndimage import find_objects

    rng = np.random.default_rng(7)
    for _ in range(200):
        labels = rng.integers(-1, rng.integers(0, 8), rng.integers(1, 30, 2)).astype(np.int32)
        if rng.random() < 0.5:
            labels = np.repeat(np.repeat(labels, 3, 0), 2, 1)
        labels[labels == 2] = 3  # region 2 has no pixels when there are more
        boxes, areas = boxes_and_areas(labels)
        count = int(labels.max(initial=-1)) + 1
        assert boxes.shape == (count, 4) and areas.tolist() == [(labels == i).sum() for i in range(count)]
        for index, found in enumerate(find_objects(labels + 1, max_label=count)):
            rows, cols = found if found else (slice(0, 0), slice(0, 0))
            assert boxes[index].tolist() == [cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start]
