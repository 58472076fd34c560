"""Tests for the click-region scenes, their LMDB database and panoptic quality."""
from __future__ import annotations

import numpy as np
import pytest

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.points.panoptic_quality import panoptic_quality
from panda_plugin.engine.points.points_data import PointsReader, PointsSettings, make_points_data, scene
from panda_plugin.engine.points.scenes import KINDS, MIN_AREA, make_scene


@pytest.fixture(scope='module')
def photos():
    import skimage.data

    return [skimage.data.astronaut(), skimage.data.coffee()]


@pytest.mark.parametrize('kind', KINDS)
def test_scene_ground_truth_is_exact(kind, photos):
    for seed in range(6):
        drawn = make_scene(np.random.default_rng(seed), 64, kind, photos)
        panoptic, points = drawn['panoptic'], drawn['points']
        count = int(panoptic.max()) + 1
        assert panoptic.min() == 0 and np.array_equal(np.unique(panoptic), np.arange(count))
        assert np.bincount(panoptic.ravel()).min() >= MIN_AREA * 64 * 64
        assert points.shape == (count, 2) and len(drawn['stuff']) == count
        assert [panoptic[y, x] for x, y in points] == list(range(count))
        assert drawn['image'].shape == (64, 64, 3) and drawn['image'].dtype == np.uint8
        again = make_scene(np.random.default_rng(seed), 64, kind, photos)
        assert np.array_equal(again['image'], drawn['image'])


def test_clicks_are_not_only_at_centres(photos):
    settings = PointsSettings(size=64)
    offsets = []
    for index in range(9):
        drawn = scene(settings, index, photos)
        for number, (x, y) in enumerate(drawn['points']):
            rows, cols = np.nonzero(drawn['panoptic'] == number)
            offsets.append(np.hypot(x - cols.mean(), y - rows.mean()))
    assert np.median(offsets) > 2


def test_database_is_deterministic_and_sharded(tmp_path, monkeypatch):
    import panda_plugin.engine.points.points_data as points_data

    monkeypatch.setattr(points_data, 'split_photos', lambda split: [np.full((80, 80, 3), 90, np.uint8)])
    monkeypatch.setattr(points_data, 'UNIT', 4)
    settings = PointsSettings(split='test', count=10, size=48, seed=1)
    assert make_points_data(tmp_path / 'whole.lmdb', settings, progress=False) == 10
    parts = [tmp_path / f'part{k}.lmdb' for k in range(2)]
    for k, part in enumerate(parts):
        make_points_data(part, PointsSettings(split='test', count=10, size=48, seed=1, shard=(k, 2)),
                         progress=False)
    whole, sharded = PointsReader(tmp_path / 'whole.lmdb'), PointsReader(parts)
    by_key = {whole.read(i)['key']: whole.read(i) for i in range(len(whole))}
    assert len(sharded) == 10
    for i in range(len(sharded)):
        record = sharded.read(i)
        assert np.array_equal(record['image'], by_key[record['key']]['image'])
        assert np.array_equal(record['panoptic'], by_key[record['key']]['panoptic'])
    assert make_points_data(tmp_path / 'whole.lmdb', settings, progress=False) == 10
    with pytest.raises(PandaInputError, match='other settings'):
        make_points_data(tmp_path / 'whole.lmdb', PointsSettings(split='test', count=11, size=48),
                         progress=False)
    with pytest.raises(PandaInputError, match='does not exist'):
        PointsReader(tmp_path / 'missing.lmdb')


def test_panoptic_quality():
    truth = np.zeros((10, 10), int)
    truth[:, 5:] = 1
    assert panoptic_quality([truth], [truth])['pq'] == pytest.approx(100)
    shifted = np.zeros((10, 10), int)
    shifted[:, 6:] = 1  # IoUs 50/60 and 40/50
    result = panoptic_quality([shifted], [truth])
    assert result['rq'] == pytest.approx(100) and result['sq'] == pytest.approx(100 * (50 / 60 + 0.8) / 2)
    one = np.zeros((10, 10), int)
    result = panoptic_quality([one], [truth])  # IoU 0.5 is no match
    assert result['tp'] == 0 and result['fp'] == 1 and result['fn'] == 2 and result['pq'] == 0
