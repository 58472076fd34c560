import cv2
import numpy as np
import pytest

from panda_plugin import PandaInputError
from panda_plugin.engine.panda.scoring import build_scorer, pool_interior
from panda_plugin.engine.regions import GridSegmenter


@pytest.fixture(scope='module')
def blurred_quadrant(astronaut):
    label_map = GridSegmenter(2, 2)(astronaut)
    degraded = astronaut.copy()
    blurred = cv2.GaussianBlur(astronaut, (0, 0), 3)
    degraded[label_map == 1] = blurred[label_map == 1]
    return degraded, label_map


@pytest.mark.parametrize('name', ['ssim_psnr', 'ssim_color', 'ssim', 'psnr'])
def test_only_the_degraded_region_loses_quality(name, astronaut, blurred_quadrant):
    degraded, label_map = blurred_quadrant
    scores = build_scorer(name)(degraded, astronaut, label_map)
    assert scores.shape == (4,)
    assert scores[1] < 0.9
    np.testing.assert_allclose(np.delete(scores, 1), 1.0, atol=1e-3)
    np.testing.assert_array_equal(build_scorer(name)(astronaut, astronaut, label_map), 1.0)


def test_colour_only_change_lowers_ssim_color_but_not_ssim(astronaut):
    hsv = cv2.cvtColor(astronaut, cv2.COLOR_RGB2HSV)
    hsv[..., 1] = (hsv[..., 1] * 0.3).astype(np.uint8)
    desaturated = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    label_map = np.zeros(astronaut.shape[:2], np.int32)
    colour = build_scorer('ssim_color')(desaturated, astronaut, label_map)[0]
    grey = build_scorer('ssim')(desaturated, astronaut, label_map)[0]
    assert colour < grey - 0.1


def test_pyiqa_metric_scores_regions(astronaut, blurred_quadrant):
    import pyiqa  # noqa: F401  (registers the pyiqa scorers)

    degraded, label_map = blurred_quadrant
    scores = build_scorer('pyiqa:ssim')(degraded, astronaut, label_map)
    assert scores[1] < 0.9 and scores[1] == scores.min()
    np.testing.assert_allclose(np.delete(scores, 1), 1.0, atol=1e-3)
    some = build_scorer('pyiqa:ssim')(degraded, astronaut, label_map, regions=[1, 3])
    np.testing.assert_array_equal(some[[1, 3]], scores[[1, 3]])
    assert np.isnan(some[[0, 2]]).all()


def test_interior_pooling_ignores_borders():
    label_map = np.zeros((40, 40), np.int32)
    label_map[:, 20:] = 1
    values = np.ones((40, 40))
    values[:, 17:23] = 0.0  # a seam along the border only
    np.testing.assert_allclose(pool_interior(values, label_map), [1.0, 1.0])


def test_bad_scorer_and_sizes(astronaut):
    with pytest.raises(PandaInputError, match="'lpips2'.*ssim_color"):
        build_scorer('lpips2')
    import pyiqa  # noqa: F401

    with pytest.raises(PandaInputError, match='weights file'):
        build_scorer('topiq_fr:/nonexistent.pth')
    with pytest.raises(PandaInputError, match='differ in size'):
        build_scorer('ssim')(astronaut[:100], astronaut, np.zeros((512, 512), np.int32))
