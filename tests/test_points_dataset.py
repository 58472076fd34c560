"""Click scene batches for training: crops that keep each click on its instance, pseudo-labels
renumbered to the kept clicks."""
from __future__ import annotations

import numpy as np
import torch


def test_pseudo_labels_renumbered_to_the_kept_clicks():
    from panda_plugin.engine.points.pseudo_labels import renumber_to_clicks

    pseudo = torch.tensor([[[0, 0, 1, 1], [2, 2, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]])
    points = torch.tensor([[[3., 3.], [0., 0.], [0., 0.]]])  # scene clicks 3 and 0 kept, then padding
    valid = torch.tensor([[True, True, False]])
    expected = torch.tensor([[[1, 1, -1, -1], [-1, -1, -1, -1], [-1, -1, 0, 0], [-1, -1, 0, 0]]])
    assert torch.equal(renumber_to_clicks(pseudo, points, valid), expected)


def test_dataset_crops_keep_clicks_on_their_instances(tmp_path, monkeypatch):
    import panda_plugin.engine.points.points_data as points_data
    from panda_plugin.engine.points.points_dataset import PointsDataset

    monkeypatch.setattr(points_data, 'split_photos', lambda split: [np.full((80, 80, 3), 90, np.uint8)])
    path = tmp_path / 'scenes.lmdb'
    points_data.make_points_data(path, points_data.PointsSettings(count=6, size=64), progress=False)
    dataset = PointsDataset({'dataroot': str(path), 'crop_size': 40, 'seed': 0, 'max_clicks': 16})
    reader = points_data.PointsReader(path)
    for index in range(len(dataset)):
        item = dataset[index]
        assert item['image'].shape == (3, 40, 40) and item['panoptic'].shape == (40, 40)
        count = int(item['valid'].sum())
        assert count >= 1
        labels = [int(item['panoptic'][int(y), int(x)]) for x, y in item['points'][:count].tolist()]
        assert len(set(labels)) == count  # one click per instance, each on its own instance
        whole = PointsDataset({'dataroot': str(path), 'phase': 'val'})[index]
        assert int(whole['valid'].sum()) == len(reader.read(index)['points'])
