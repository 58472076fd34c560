"""Tests for the region proposers and user-mask loading."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from scipy import ndimage
from skimage import data

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.masks import MIN_REGION_AREA, region_count, rle_encode
from panda_plugin.engine.regions import (
    GridSegmenter,
    MaskSegmenter,
    SamSegmenter,
    SuperpixelSegmenter,
    build_segmenter,
    load_masks,
)
from panda_plugin.engine.regions.sam import masks_to_partition


def _rgb(name: str) -> np.ndarray:
    image = getattr(data, name)()
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3])


def _assert_full_partition(labels: np.ndarray, shape: tuple[int, int]) -> int:
    assert labels.dtype == np.int32
    assert labels.shape == shape
    count = region_count(labels)
    assert labels.min() == 0
    assert np.array_equal(np.unique(labels), np.arange(count))
    return count


# Superpixels ------------------------------------------------------------------------------

@pytest.mark.parametrize('name', ['astronaut', 'coffee', 'chelsea', 'gravel', 'camera'])
def test_superpixel_full_partition_in_range(name):
    image = _rgb(name)
    segmenter = SuperpixelSegmenter()
    labels = segmenter(image)
    count = _assert_full_partition(labels, image.shape[:2])
    assert 8 <= count <= 40
    areas = np.bincount(labels.ravel())
    assert areas.min() >= segmenter.min_area * labels.size
    for region in range(count):
        components, found = ndimage.label(labels == region)
        largest = np.bincount(components.ravel())[1:].max()
        assert largest >= 0.95 * areas[region], (region, found)
    assert np.array_equal(labels, segmenter(image.copy()))


def test_superpixel_follows_image_content():
    image = np.zeros((200, 300, 3), np.uint8)
    image[:, 150:] = (230, 40, 40)
    labels = SuperpixelSegmenter()(image)
    left, right = set(np.unique(labels[:, :150])), set(np.unique(labels[:, 150:]))
    assert not left & right


def test_superpixel_large_image():
    image = cv2.resize(_rgb('astronaut'), (4000, 3000), interpolation=cv2.INTER_LINEAR)
    segmenter = SuperpixelSegmenter()
    labels = segmenter(image)
    count = _assert_full_partition(labels, (3000, 4000))
    assert 8 <= count <= 40
    assert np.bincount(labels.ravel()).min() >= segmenter.min_area * labels.size


@pytest.mark.parametrize('shape', [(1, 1), (3, 5), (12, 40)])
def test_superpixel_tiny_images(shape):
    image = np.random.default_rng(0).integers(0, 256, (*shape, 3), dtype=np.uint8)
    _assert_full_partition(SuperpixelSegmenter()(image), shape)


@pytest.mark.parametrize('shape', [(7, 7), (16, 16), (32, 32), (40, 90)])
def test_region_count_is_capped_by_area(shape):
    image = np.random.default_rng(1).integers(0, 256, (*shape, 3), dtype=np.uint8)
    for segmenter in (SuperpixelSegmenter(), GridSegmenter(6, 6)):
        labels = segmenter(image)
        count = _assert_full_partition(labels, shape)
        assert count <= max(1, labels.size // MIN_REGION_AREA)
        if labels.size >= MIN_REGION_AREA:
            assert np.bincount(labels.ravel()).min() >= MIN_REGION_AREA


def test_superpixel_options():
    labels = SuperpixelSegmenter(n_regions=12, min_regions=4)(_rgb('coffee'))
    assert 4 <= region_count(labels) <= 12
    with pytest.raises(PandaInputError, match='n_regions=50'):
        SuperpixelSegmenter(n_regions=50)
    with pytest.raises(PandaInputError, match='min_area'):
        SuperpixelSegmenter(min_area=0.5)


# Grid -------------------------------------------------------------------------------------

def test_grid_tiles():
    labels = GridSegmenter(3, 4)(np.zeros((30, 39, 3), np.uint8))
    assert _assert_full_partition(labels, (30, 39)) == 12
    areas = np.bincount(labels.ravel())
    assert areas.max() - areas.min() <= 10 + 3 + 1
    assert labels[0, 0] == 0 and labels[0, -1] == 3 and labels[-1, 0] == 8 and labels[-1, -1] == 11
    assert np.array_equal(np.unique(labels[:, 0]), [0, 4, 8])


def test_grid_errors():
    with pytest.raises(PandaInputError, match='rows=0'):
        GridSegmenter(0, 2)
    with pytest.raises(PandaInputError, match='cols=1.5'):
        GridSegmenter(2, 1.5)


# User masks -------------------------------------------------------------------------------

def _blocks() -> np.ndarray:
    labels = np.zeros((20, 30), np.int64)
    labels[:, 10:] = 7
    labels[12:, 20:] = 300
    return labels


@pytest.mark.parametrize('dtype', [np.uint8, np.uint16])
def test_label_map_png_round_trip(tmp_path, dtype):
    ids = _blocks() if dtype == np.uint16 else _blocks() % 256 // 2
    if dtype == np.uint16:
        ids[0, 0] = 60000
    path = tmp_path / 'labels.png'
    assert cv2.imwrite(str(path), ids.astype(dtype))
    labels = load_masks(path)
    expected = np.unique(ids, return_inverse=True)[1].reshape(ids.shape)
    assert np.array_equal(labels, expected)
    assert labels.dtype == np.int32


def test_panoptic_png(tmp_path):
    ids = np.zeros((20, 30), np.int64)
    ids[:, :10] = 26 + 256 * 3
    ids[:, 10:25] = 70000
    rgb = np.stack([ids % 256, ids // 256 % 256, ids // 65536], axis=2).astype(np.uint8)
    path = tmp_path / 'panoptic.png'
    cv2.imwrite(str(path), rgb[:, :, ::-1])
    labels = load_masks(str(path))
    assert (labels[:, 25:] == -1).all()
    assert (labels[:, :10] == 0).all() and (labels[:, 10:25] == 1).all()


@pytest.mark.parametrize('layout', ['rles', 'annotations', 'coco'])
def test_rle_json_layouts(tmp_path, layout):
    masks = np.stack([_blocks() == value for value in (0, 7, 300)])
    rles = [rle_encode(mask) for mask in masks]
    content = {'rles': rles,
               'annotations': [{'id': i, 'segmentation': rle} for i, rle in enumerate(rles)],
               'coco': {'annotations': [{'segmentation': rle} for rle in rles], 'images': []}}[layout]
    path = tmp_path / 'masks.json'
    path.write_text(json.dumps(content))
    labels = load_masks(path, image_size=(20, 30))
    assert np.array_equal(labels, np.unique(_blocks(), return_inverse=True)[1].reshape(20, 30))


def test_rle_json_uncompressed_counts(tmp_path):
    path = tmp_path / 'masks.json'
    path.write_text(json.dumps([{'size': [2, 2], 'counts': [1, 3]}]))
    assert np.array_equal(load_masks(path), [[-1, 0], [0, 0]])


def test_arrays_and_stacks():
    labels = load_masks(_blocks())
    assert region_count(labels) == 3
    assert np.array_equal(load_masks(labels), labels)
    stack = np.stack([_blocks() == 7, _blocks() == 300])
    from_stack = load_masks(stack)
    assert (from_stack[_blocks() == 0] == -1).all()
    assert np.array_equal(np.unique(from_stack), [-1, 0, 1])


def test_mask_errors(tmp_path):
    overlapping = np.zeros((2, 4, 4), bool)
    overlapping[0, :2] = overlapping[1, 1:] = True
    with pytest.raises(PandaInputError, match='overlap on 4 pixels'):
        load_masks(overlapping)
    path = tmp_path / 'overlap.json'
    path.write_text(json.dumps([rle_encode(mask) for mask in overlapping]))
    with pytest.raises(PandaInputError, match='overlap.json.*overlap on 4 pixels'):
        load_masks(path)
    empty = np.zeros((2, 4, 4), bool)
    empty[0, 0] = True
    with pytest.raises(PandaInputError, match=r'masks \[1\] are empty'):
        load_masks(empty)
    (tmp_path / 'none.json').write_text('[]')
    with pytest.raises(PandaInputError, match='holds no masks'):
        load_masks(tmp_path / 'none.json')
    with pytest.raises(PandaInputError, match='20x30.*10x30'):
        load_masks(_blocks(), image_size=(10, 30))
    (tmp_path / 'corrupt.png').write_bytes(b'\x89PNG not really')
    with pytest.raises(PandaInputError, match='corrupt.png'):
        load_masks(tmp_path / 'corrupt.png')
    (tmp_path / 'corrupt.json').write_text('{"annotations": [')
    with pytest.raises(PandaInputError, match='corrupt.json'):
        load_masks(tmp_path / 'corrupt.json')
    with pytest.raises(PandaInputError, match='missing.png.*does not exist'):
        load_masks(tmp_path / 'missing.png')
    with pytest.raises(PandaInputError, match='polygons'):
        load_masks(_write(tmp_path / 'poly.json', [{'segmentation': [[0, 0, 1, 0, 1, 1]]}]))


def _write(path, content):
    path.write_text(json.dumps(content))
    return path


def test_mask_segmenter(tmp_path):
    path = tmp_path / 'labels.png'
    cv2.imwrite(str(path), _blocks().astype(np.uint16))
    segmenter = build_segmenter(str(path))
    assert isinstance(segmenter, MaskSegmenter)
    labels = segmenter(np.zeros((20, 30, 3), np.uint8))
    assert region_count(labels) == 3
    labels[:] = 0
    assert region_count(segmenter(np.zeros((20, 30, 3), np.uint8))) == 3
    with pytest.raises(PandaInputError, match='20x30.*21x30'):
        segmenter(np.zeros((21, 30, 3), np.uint8))


# build_segmenter --------------------------------------------------------------------------

def test_build_segmenter_specs(tmp_path):
    assert isinstance(build_segmenter(), SuperpixelSegmenter)
    assert build_segmenter('superpixel', n_regions=10).n_regions == 10
    grid = build_segmenter('grid:3x5')
    assert (grid.rows, grid.cols) == (3, 5)
    assert isinstance(build_segmenter('grid', rows=2), GridSegmenter)

    def custom(image):
        return np.zeros(image.shape[:2], np.int32)

    assert build_segmenter(custom) is custom
    assert isinstance(build_segmenter(_blocks()), MaskSegmenter)
    with pytest.raises(PandaInputError, match="unknown region spec 'slic'.*grid:RxC"):
        build_segmenter('slic')
    with pytest.raises(PandaInputError, match='checkpoint'):
        build_segmenter('sam')
    with pytest.raises(PandaInputError, match='does not exist'):
        build_segmenter(f'sam:{tmp_path / "missing.pth"}')
    with pytest.raises(PandaInputError, match='options'):
        build_segmenter(custom, n_regions=3)


# SAM --------------------------------------------------------------------------------------

def _tiny_sam():
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer
    torch.manual_seed(0)
    size, patch, dim = 64, 16, 16
    return Sam(
        image_encoder=ImageEncoderViT(img_size=size, patch_size=patch, embed_dim=32, depth=1,
                                      num_heads=1, mlp_ratio=2, out_chans=dim),
        prompt_encoder=PromptEncoder(embed_dim=dim, image_embedding_size=(size // patch,) * 2,
                                     input_image_size=(size, size), mask_in_chans=4),
        mask_decoder=MaskDecoder(transformer_dim=dim, iou_head_hidden_dim=16,
                                 transformer=TwoWayTransformer(depth=1, embedding_dim=dim,
                                                               num_heads=1, mlp_dim=32)),
    ).eval()


_LOOSE = {'points_per_side': 4, 'pred_iou_thresh': 0.0, 'stability_score_thresh': 0.0,
          'box_nms_thresh': 1.0, 'stability_score_offset': 0.1}


def test_sam_from_model_gives_full_partition():
    image = cv2.resize(_rgb('astronaut'), (96, 80), interpolation=cv2.INTER_AREA)
    segmenter = SamSegmenter.from_model(_tiny_sam(), min_area=0.01, **_LOOSE)
    assert len(segmenter.generator.generate(image)) > 1
    labels = segmenter(image)
    count = _assert_full_partition(labels, (80, 96))
    assert count >= 2
    assert np.bincount(labels.ravel()).min() >= 0.01 * labels.size
    assert np.array_equal(labels, segmenter(image))


def test_sam_checkpoint_loading(tmp_path, monkeypatch):
    import segment_anything
    monkeypatch.setitem(segment_anything.sam_model_registry, 'tiny', _tiny_sam)
    model = _tiny_sam()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.5)
    path = tmp_path / 'tiny.pth'
    torch.save(model.state_dict(), path)
    segmenter = SamSegmenter(path, model_type='tiny', **_LOOSE)
    loaded = segmenter.generator.predictor.model.state_dict()
    assert all(torch.equal(loaded[key], value) for key, value in model.state_dict().items())

    state = model.state_dict()
    state.pop(next(iter(state)))
    torch.save(state, tmp_path / 'partial.pth')
    with pytest.raises(PandaInputError, match="partial.pth.*does not fit model_type 'tiny'"):
        SamSegmenter(tmp_path / 'partial.pth', model_type='tiny')
    (tmp_path / 'junk.pth').write_bytes(b'not a checkpoint')
    with pytest.raises(PandaInputError, match='cannot read SAM checkpoint.*junk.pth'):
        SamSegmenter(tmp_path / 'junk.pth', model_type='tiny')
    with pytest.raises(PandaInputError, match='missing.pth.*does not exist'):
        SamSegmenter(tmp_path / 'missing.pth')
    with pytest.raises(PandaInputError, match="model_type 'vit_x'.*vit_b"):
        SamSegmenter(path, model_type='vit_x')


def _record(mask, iou, stability):
    return {'segmentation': mask, 'predicted_iou': iou, 'stability_score': stability}


def test_masks_to_partition_resolves_overlaps_and_gaps():
    size = (40, 40)
    low, high, speck = np.zeros((3, *size), bool)
    low[:, :25] = True          # weaker mask, overlapped by the stronger one
    high[:, 15:30] = True
    speck[0:2, 38:40] = True    # below min_area on its own
    labels = masks_to_partition([_record(low, 0.6, 0.9), _record(high, 0.9, 0.9),
                                 _record(speck, 1.0, 1.0)], size, min_area=0.01)
    _assert_full_partition(labels, size)
    assert (labels[:, 15:30] == 0).all()           # the best mask keeps all its pixels
    assert (labels[:, :15] == 1).all()             # the weaker one keeps what is left
    assert (labels[:, 30:] == 2).all()             # the gap (with the speck) is one region

    hole = np.ones(size, bool)
    hole[10, 10] = False                           # a tiny unclaimed hole joins its surrounding
    assert (masks_to_partition([_record(hole, 0.9, 0.9)], size, 0.01) == 0).all()
    assert (masks_to_partition([], size, 0.01) == 0).all()
