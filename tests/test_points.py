"""Tests for click-prompted regions: clicks, the hand-crafted methods, compare and the CLI."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.points import ClickSegmenter, click_regions, read_clicks
from panda_plugin.engine.regions import build_segmenter

HAND_CRAFTED = ('euclidean', 'geodesic')


def _two_halves() -> np.ndarray:
    image = np.full((96, 128, 3), 30, np.uint8)
    image[:, 64:] = (220, 60, 40)
    return image


@pytest.mark.parametrize('method', HAND_CRAFTED)
def test_one_region_per_click_covering_every_pixel(method, small_astronaut):
    clicks = [(10, 12), (100, 20), (64, 64), (20, 110), (127, 127)]
    labels = click_regions(small_astronaut, clicks, method)
    assert labels.dtype == np.int32 and labels.shape == small_astronaut.shape[:2]
    assert np.array_equal(np.unique(labels), np.arange(len(clicks)))
    for index, (x, y) in enumerate(clicks):
        assert labels[y, x] == index
    assert np.array_equal(labels, click_regions(small_astronaut.copy(), clicks, method))


@pytest.mark.parametrize('method', HAND_CRAFTED)
def test_large_image_and_neighbouring_clicks(method):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (700, 900, 3), dtype=np.uint8)
    clicks = [(0, 0), (1, 0), (0, 1), (899, 699), (450, 350)]  # one working pixel for three
    labels = click_regions(image, clicks, method)
    assert np.array_equal(np.unique(labels), np.arange(len(clicks)))


def test_geodesic_follows_colour_edges():
    image = _two_halves()
    # Both clicks on the left half except one far right: Euclidean splits at x=~76,
    # geodesic stops at the colour edge at x=64.
    clicks = [(60, 48), (120, 48)]
    geodesic = click_regions(image, clicks, 'geodesic')
    euclidean = click_regions(image, clicks, 'euclidean')
    assert (geodesic[:, :64] == 0).all() and (geodesic[:, 64:] == 1).all()
    assert (euclidean[:, 64:80] == 0).any()


def test_click_forms_and_kinds(tmp_path):
    expected = np.array([[3, 4], [10, 20]])
    forms = ['3,4;10,20', ' 3 , 4 ; 10,20 ;', [(3, 4), (10, 20)], [(3.2, 3.9), (10, 20.4)],
             np.array([[3, 4], [10, 20]]), [{'x': 3, 'y': 4}, {'x': 10, 'y': 20}]]
    for form in forms:
        assert np.array_equal(read_clicks(form, (32, 32)).xy, expected)
    clicks = read_clicks('3,4,stuff;10,20', (32, 32))
    assert clicks.kinds == ('stuff', 'thing') and clicks.stuff.tolist() == [True, False]
    path = tmp_path / 'clicks.json'
    path.write_text(json.dumps(clicks.to_json()))
    assert read_clicks(str(path)).kinds == ('stuff', 'thing')
    path.write_text(json.dumps({'a.png': [[1, 2]], 'b.png': {'points': [[5, 6, 'stuff']]}}))
    assert read_clicks(path, name='b.png').kinds == ('stuff',)


@pytest.mark.parametrize('clicks, message', [
    ([(5, 5), (200, 5)], 'outside'),
    ([(5, 5), (-1, 5)], 'outside'),
    ([(5, 5), (5, 5)], 'both at'),
    ([(5.2, 5), (4.9, 5.1)], 'both at'),
    ([], 'no clicks'),
    ('', 'no clicks'),
    ('1,2;3', 'accepted'),
    ('1,x', 'coordinate'),
    ([(1, 2, 'sky')], 'kind'),
    ([(1, float('nan'))], 'finite'),
    ([(True, 2)], 'coordinate'),
    ([[1, 2, 3, 4]], 'accepted'),
    ({'x': 1}, 'accepted'),
])
def test_bad_clicks(clicks, message, small_astronaut):
    for method in HAND_CRAFTED:
        with pytest.raises(PandaInputError, match=message):
            click_regions(small_astronaut, clicks, method)


def test_bad_click_files_and_limits(tmp_path):
    bad = tmp_path / 'bad.json'
    bad.write_text('[[1, 2], ')
    with pytest.raises(PandaInputError, match='is not valid JSON'):
        read_clicks(bad)
    with pytest.raises(PandaInputError, match='does not exist'):
        read_clicks(tmp_path / 'missing.json')
    keyed = tmp_path / 'keyed.json'
    keyed.write_text(json.dumps({'a.png': [[1, 2]]}))
    with pytest.raises(PandaInputError, match='keyed by image name'):
        read_clicks(keyed)
    with pytest.raises(PandaInputError, match="no clicks for image 'b.png'"):
        read_clicks(keyed, name='b.png')
    with pytest.raises(PandaInputError, match='at most 2'):
        read_clicks('1,1;2,2;3,3', max_clicks=2)
    with pytest.raises(PandaInputError, match='click method'):
        click_regions(np.zeros((32, 32, 3), np.uint8), '1,1', 'nearest')


def test_build_segmenter_points(small_astronaut):
    segmenter = build_segmenter('points:euclidean', points='5,5;100,100')
    assert isinstance(segmenter, ClickSegmenter)
    assert np.unique(segmenter(small_astronaut)).tolist() == [0, 1]
    with pytest.raises(PandaInputError, match='needs points'):
        build_segmenter('points')


def test_compare_with_points(small_astronaut):
    from panda_plugin import compare

    degraded = cv2.GaussianBlur(small_astronaut, (0, 0), 2)
    graph = compare(degraded, small_astronaut, points=[(20, 20), (100, 100), (30, 110)],
                    points_method='geodesic')
    assert len(graph.regions) == 3
    assert graph.metadata['regions'] == 'points:geodesic'
    with pytest.raises(PandaInputError, match='not masks and points'):
        compare(degraded, small_astronaut, masks=np.zeros((128, 128), int), points='1,1')
    with pytest.raises(PandaInputError, match='outside'):
        compare(degraded, small_astronaut, points='1,1;500,1', points_method='euclidean')


def test_cli_regions_and_compare(tmp_path, small_astronaut, capsys):
    from panda_plugin.adapters.cli import main
    from panda_plugin.engine.image_io import save_image

    image = tmp_path / 'image.png'
    save_image(image, small_astronaut)
    out, viz = tmp_path / 'labels.png', tmp_path / 'regions.png'
    assert main(['regions', str(image), '--points', '10,10;100,30;64,100,stuff', '--method', 'geodesic',
                 '--out', str(out), '--viz', str(viz)]) == 0
    labels = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert labels.dtype == np.uint16 and np.unique(labels).tolist() == [1, 2, 3]
    assert labels[10, 10] == 1 and labels[30, 100] == 2 and labels[100, 64] == 3
    assert cv2.imread(str(viz)).shape == (128, 128, 3)
    clicks = tmp_path / 'clicks.json'
    clicks.write_text(json.dumps({'image.png': [[10, 10], [100, 30]]}))
    assert main(['compare', str(image), str(image), '--points', str(clicks), '--method', 'euclidean']) == 0
    assert main(['regions', str(image), '--points', '10,10;10,10', '--out', str(out)]) == 2
    assert 'both at' in capsys.readouterr().err
    clicks.write_text('{"image.png": [[10, 10]')
    assert main(['regions', str(image), '--points', str(clicks), '--out', str(out)]) == 2
    assert 'is not valid JSON' in capsys.readouterr().err
