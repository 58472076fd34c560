"""``PointsDataset``: scenes of ``make-points-data`` databases as training tensors.

Training reads only the image and its clicks, or the pseudo-labels made from those clicks
(``make-pseudo-labels``); the dense ground truth (``panoptic``) is returned for validation
metrics and is never a training target.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.points.points_data import PointsReader
from panda_plugin.engine.points.pseudo_labels import read_pseudo_labels
from panda_plugin.engine.tensors import rgb8_to_tensor


class PointsDataset(Dataset):
    """Images, clicks and (for evaluation) panoptic ground truth, with flips and rotations.

    Args:
        opt: BasicSR-style options: ``dataroot`` (LMDB folder or list); ``phase``
            (``'train'`` enables augmentation by default); ``use_hflip`` / ``use_rot``;
            ``max_clicks`` (clicks are padded to this length; default 64); ``crop_size``
            (train on random square crops of this side holding at least one click, with the
            clicks inside them; default: whole scenes); ``pseudo_labels`` (a ``.npz`` file of
            ``points.pseudo_labels.make_pseudo_labels`` for these scenes; default: none).

    Each item: ``image`` (3xHxW float in [0, 1]), ``points`` (Kx2 float (x, y)), ``valid``
    (K bool), ``stuff`` (K bool), ``panoptic`` (HxW int64, evaluation only), ``key`` and, with
    ``pseudo_labels``, ``pseudo`` (HxW int64 click regions, cropped and flipped with the image).
    """

    def __init__(self, opt: dict):
        super().__init__()
        if 'dataroot' not in opt:
            raise PandaInputError('PointsDataset needs dataroot: a points LMDB folder or a list of them')
        self.opt = opt
        self.reader = PointsReader(opt['dataroot'])
        training = opt.get('phase', 'train') == 'train'
        self.use_hflip = opt.get('use_hflip', training)
        self.use_rot = opt.get('use_rot', training)
        self.max_clicks = int(opt.get('max_clicks', 64))
        self.crop_size = opt.get('crop_size')
        self._rng = np.random.default_rng(opt.get('seed'))
        self.pseudo = None
        if opt.get('pseudo_labels'):
            self.pseudo = read_pseudo_labels(opt['pseudo_labels'])

    def __len__(self) -> int:
        return len(self.reader)

    def __getitem__(self, index: int) -> dict:
        record = self.reader.read(index)
        image, panoptic, points = record['image'], record['panoptic'], record['points'].astype(np.float32)
        stuff_flags = record['stuff']
        if self.pseudo is not None:
            if record['key'] not in self.pseudo:
                raise PandaInputError(f'pseudo-labels {self.opt["pseudo_labels"]!r} lack scene {record["key"]}; '
                                      'make them from this database')
            panoptic = np.stack([panoptic, self.pseudo[record['key']]], -1)  # cropped and flipped together
        if self.crop_size:
            image, panoptic, points, stuff_flags = self._crop(image, panoptic, points, stuff_flags)
        count = len(points)
        if count > self.max_clicks:
            raise PandaInputError(f'scene {record["key"]} has {count} clicks; max_clicks is {self.max_clicks}')
        height, width = panoptic.shape[:2]
        if self.use_hflip and self._rng.random() < 0.5:
            image, panoptic = image[:, ::-1], panoptic[:, ::-1]
            points[:, 0] = width - 1 - points[:, 0]
        if self.use_rot and self._rng.random() < 0.5:
            image, panoptic = image[::-1], panoptic[::-1]
            points[:, 1] = height - 1 - points[:, 1]
        if self.use_rot and self._rng.random() < 0.5 and height == width:
            image, panoptic = image.swapaxes(0, 1), panoptic.swapaxes(0, 1)
            points = points[:, ::-1].copy()
        padded = np.zeros((self.max_clicks, 2), np.float32)
        padded[:count] = points
        stuff = np.zeros(self.max_clicks, bool)
        stuff[:count] = stuff_flags
        item = {'key': record['key'],
                'image': rgb8_to_tensor(image).contiguous(),
                'points': torch.from_numpy(padded), 'valid': torch.arange(self.max_clicks) < count,
                'stuff': torch.from_numpy(stuff),
                'panoptic': torch.from_numpy(np.ascontiguousarray(panoptic)).long()}
        if self.pseudo is not None:
            item['panoptic'], item['pseudo'] = item['panoptic'].unbind(-1)
        return item

    def _crop(self, image, panoptic, points, stuff):
        """A random crop around a random click, with the clicks that fall inside it."""
        side = int(self.crop_size)
        height, width = panoptic.shape[:2]
        if side >= min(height, width):
            return image, panoptic, points, stuff
        x, y = points[int(self._rng.integers(len(points)))]
        left = int(self._rng.integers(max(0, int(x) - side + 1), min(width - side, int(x)) + 1))
        top = int(self._rng.integers(max(0, int(y) - side + 1), min(height - side, int(y)) + 1))
        inside = ((points[:, 0] >= left) & (points[:, 0] < left + side) &
                  (points[:, 1] >= top) & (points[:, 1] < top + side))
        points = points[inside] - np.array([left, top], np.float32)
        return (image[top:top + side, left:left + side], panoptic[top:top + side, left:left + side],
                points, stuff[inside])
