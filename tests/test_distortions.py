"""Tests of panda_plugin.engine.distortions on real photographs from skimage.data."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data
from skimage.metrics import structural_similarity

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.taxonomy import DISTORTION_TYPES
from panda_plugin.engine.distortions import PARAMETERS, apply_distortion, degrade_regions

RANDOM_TYPES = ('noise', 'rain', 'snow', 'haze')
SEVERITY_LEVELS = (1, 2, 3)


@pytest.fixture(scope='module')
def quadrants(astronaut) -> np.ndarray:
    """Label map of astronaut: four quadrant regions, with a band of -1 pixels."""
    labels = np.zeros(astronaut.shape[:2], np.int32)
    labels[:, 256:] += 1
    labels[256:, :] += 2
    labels[240:272, :] = -1
    return labels


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_parameter_table_covers_every_type():
    assert set(PARAMETERS) == set(DISTORTION_TYPES)
    assert all(len(values) == 3 for values in PARAMETERS.values())


@pytest.mark.parametrize('name', DISTORTION_TYPES)
def test_every_severity_changes_image_and_keeps_format(astronaut, name):
    before = astronaut.copy()
    for severity in SEVERITY_LEVELS:
        out = apply_distortion(astronaut, name, severity)
        assert out.dtype == np.uint8 and out.shape == astronaut.shape
        assert mean_abs_diff(out, astronaut) > 1.0, (name, severity)
    assert np.array_equal(astronaut, before), 'the input must not be modified'


@pytest.mark.parametrize('name', DISTORTION_TYPES)
def test_difference_grows_with_severity_on_three_photos(name):
    for image in (data.astronaut(), data.coffee(), data.chelsea()):
        diffs = [mean_abs_diff(apply_distortion(image, name, s), image) for s in SEVERITY_LEVELS]
        assert 0 < diffs[0] < diffs[1] < diffs[2], (name, diffs)


@pytest.mark.parametrize('name', DISTORTION_TYPES)
def test_ssim_falls_with_severity(astronaut, name):
    scores = [structural_similarity(astronaut, apply_distortion(astronaut, name, s),
                                    channel_axis=2) for s in SEVERITY_LEVELS]
    assert 1.0 > scores[0] > scores[1] > scores[2], (name, scores)


def test_severity_names_match_numbers(astronaut):
    for number, word in zip(SEVERITY_LEVELS, ('minor', 'moderate', 'severe')):
        assert np.array_equal(apply_distortion(astronaut, 'blur', number),
                              apply_distortion(astronaut, 'blur', word))


def test_clean_returns_an_identical_copy(astronaut):
    for out in (apply_distortion(astronaut, 'clean', 2), apply_distortion(astronaut, 'noise', 0),
                apply_distortion(astronaut, 'haze', 'clean')):
        assert out is not astronaut and np.array_equal(out, astronaut)


@pytest.mark.parametrize('name', RANDOM_TYPES)
def test_seed_controls_randomness(astronaut, name):
    first = apply_distortion(astronaut, name, 2, seed=11)
    assert first.tobytes() == apply_distortion(astronaut, name, 2, seed=11).tobytes()
    assert not np.array_equal(first, apply_distortion(astronaut, name, 2, seed=12))


def test_deterministic_types_ignore_seed(astronaut):
    for name in ('blur', 'compression', 'darken', 'pixelate'):
        assert np.array_equal(apply_distortion(astronaut, name, 2, seed=1),
                              apply_distortion(astronaut, name, 2, seed=2))


def test_photometric_distortions_are_per_pixel(astronaut):
    pixel_grid = astronaut.reshape(-1, 1, 3)
    for name in ('brightness', 'darken', 'contrast_inc', 'contrast_dec', 'saturate_inc',
                 'saturate_dec'):
        whole = apply_distortion(astronaut, name, 2).reshape(-1, 1, 3)
        assert np.array_equal(whole, apply_distortion(pixel_grid, name, 2)), name


def test_spatial_parameters_follow_resolution(astronaut):
    large = cv2.resize(astronaut, (1024, 1024), interpolation=cv2.INTER_CUBIC)
    reference = cv2.resize(large, (512, 512), interpolation=cv2.INTER_AREA)
    for name in ('blur', 'pixelate', 'snow'):
        small_diff = mean_abs_diff(apply_distortion(astronaut, name, 3), astronaut)
        shrunk = cv2.resize(apply_distortion(large, name, 3), (512, 512),
                            interpolation=cv2.INTER_AREA)
        assert shrunk.shape == reference.shape
        assert mean_abs_diff(shrunk, reference) == pytest.approx(small_diff, rel=0.2), name


def test_degrade_regions_touches_only_chosen_regions(astronaut, quadrants):
    chains = [[('blur', 3)], [], [('noise', 'moderate'), ('rain', 2)], [('clean', 0)]]
    out = degrade_regions(astronaut, quadrants, chains, seed=3)
    assert out.dtype == np.uint8 and out.shape == astronaut.shape
    for region in (1, 3):
        assert np.array_equal(out[quadrants == region], astronaut[quadrants == region])
    assert np.array_equal(out[quadrants == -1], astronaut[quadrants == -1])
    for region in (0, 2):
        assert mean_abs_diff(out[quadrants == region], astronaut[quadrants == region]) > 2.0


def test_label_map_without_regions_leaves_image_as_is(astronaut):
    out = degrade_regions(astronaut, np.full(astronaut.shape[:2], -1, np.int64), [])
    assert out is not astronaut and np.array_equal(out, astronaut)


def test_single_region_covering_the_image_equals_whole_image(astronaut):
    labels = np.zeros(astronaut.shape[:2], np.int32)
    for name in DISTORTION_TYPES:
        assert np.array_equal(degrade_regions(astronaut, labels, [[(name, 2)]], seed=5),
                              apply_distortion(astronaut, name, 2, seed=5)), name


def test_regions_use_real_context(astronaut, quadrants):
    """Blur inside a region equals the whole-image blur there (the crop has a margin)."""
    out = degrade_regions(astronaut, quadrants, [[('blur', 3)], [], [], []])
    whole = apply_distortion(astronaut, 'blur', 3)
    inside = quadrants == 0
    assert np.abs(out[inside].astype(int) - whole[inside]).max() <= 1


def test_regions_with_same_chain_match_whole_image_per_pixel_ops(astronaut, quadrants):
    out = degrade_regions(astronaut, quadrants, [[('darken', 1)], [], [('darken', 1)], []])
    whole = apply_distortion(astronaut, 'darken', 1)
    chosen = np.isin(quadrants, (0, 2))
    assert np.array_equal(out[chosen], whole[chosen])


def test_result_does_not_depend_on_region_order_or_neighbours(astronaut, quadrants):
    chain_a, chain_b = [('noise', 2), ('snow', 1)], [('rain', 3)]
    out = degrade_regions(astronaut, quadrants, [chain_a, chain_b, [], chain_a], seed=9)
    swapped = np.where(quadrants == 0, 1, np.where(quadrants == 1, 0, quadrants)).astype(np.int32)
    out_swapped = degrade_regions(astronaut, swapped, [chain_b, chain_a, [], chain_a], seed=9)
    assert np.array_equal(out, out_swapped)
    alone = degrade_regions(astronaut, quadrants, [chain_a, [], [], chain_a], seed=9)
    chosen = np.isin(quadrants, (0, 3))
    assert np.array_equal(out[chosen], alone[chosen])


def test_chains_apply_in_order(astronaut):
    labels = np.zeros(astronaut.shape[:2], np.int32)

    def run(chain):
        return degrade_regions(astronaut, labels, [chain], seed=4)

    mixed = run([('blur', 2), ('noise', 1), ('darken', 2)])
    for single in (('blur', 2), ('noise', 1), ('darken', 2)):
        assert mean_abs_diff(mixed, run([single])) > 2.0, single
    assert mean_abs_diff(run([('blur', 2), ('noise', 2)]), run([('noise', 2), ('blur', 2)])) > 2.0


def test_tiny_image_works():
    tiny = data.astronaut()[200:213, 200:209]
    for name in DISTORTION_TYPES:
        for severity in SEVERITY_LEVELS:
            out = apply_distortion(tiny, name, severity)
            assert out.shape == (13, 9, 3) and out.dtype == np.uint8
    labels = np.zeros((13, 9), np.int32)
    labels[:, 5:] = 1
    out = degrade_regions(tiny, labels, [[('pixelate', 3)], []])
    assert np.array_equal(out[:, 5:], tiny[:, 5:]) and not np.array_equal(out[:, :5], tiny[:, :5])


def test_large_image_works(astronaut):
    large = cv2.resize(astronaut, (3000, 2000), interpolation=cv2.INTER_LINEAR)
    out = apply_distortion(large, 'contrast_dec', 2)
    assert out.shape == (2000, 3000, 3) and mean_abs_diff(out[::8, ::8], large[::8, ::8]) > 5
    labels = np.zeros((2000, 3000), np.int32)
    labels[:, 1500:] = 1
    out = degrade_regions(large, labels, [[], [('contrast_inc', 1)]])
    assert np.array_equal(out[:, :1500], large[:, :1500])
    assert not np.array_equal(out[:, 1500:], large[:, 1500:])


@pytest.mark.parametrize(('call', 'fragment'), [
    (lambda im: apply_distortion(im, 'blurr', 1), "'blurr'"),
    (lambda im: apply_distortion(im, 'blur', 4), '4'),
    (lambda im: apply_distortion(im, 'blur', 'extreme'), "'extreme'"),
    (lambda im: apply_distortion(im.astype(np.float64), 'blur', 1), 'float64'),
    (lambda im: apply_distortion(im[:, :, 0], 'blur', 1), '(512, 512)'),
    (lambda im: apply_distortion(im.tolist(), 'blur', 1), 'list'),
    (lambda im: apply_distortion(im, 'noise', 1, seed=-3), '-3'),
    (lambda im: degrade_regions(im, np.zeros((512, 512), np.int32), [[('haze', 5)]]), '5'),
    (lambda im: degrade_regions(im, np.zeros((512, 512), np.int32), [[('rainn', 1)]]),
     "'rainn'"),
    (lambda im: degrade_regions(im, np.zeros((512, 512), np.int32), [['blur']]), "'blur'"),
    (lambda im: degrade_regions(im, np.zeros((512, 512), np.int32), [[], []]), '2'),
    (lambda im: degrade_regions(im, np.zeros((10, 10), np.int32), [[]]), '(10, 10)'),
    (lambda im: degrade_regions(im, np.zeros((512, 512), np.float32), [[]]), 'float32'),
])
def test_bad_input_raises_with_the_bad_value(astronaut, call, fragment):
    with pytest.raises(PandaInputError) as caught:
        call(astronaut)
    assert fragment in str(caught.value)
