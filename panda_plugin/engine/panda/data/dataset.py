"""``PandaSetDataset``: PANDASET records from one or more LMDBs as training tensors."""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.region_labels import LABEL_FIELDS
from panda_plugin.engine.data.lmdb_store import RecordReader
from panda_plugin.engine.tensors import rgb8_to_tensor


class PandaSetDataset(Dataset):
    """Pairs, shared region masks and region labels, with identical augmentation on all three.

    Args:
        opt: BasicSR-style options:
            ``dataroot`` (str or list of LMDB folders, e.g. one per shard);
            ``phase`` (``'train'`` enables augmentation by default);
            ``use_hflip`` / ``use_rot`` (flips and rot90; default: ``phase == 'train'``);
            ``max_regions`` (per-region tensors are padded to this length; default 128).

    Each item is a dict: ``anchor``, ``target`` (3xHxW float in [0,1]), ``label_map``
    (HxW int64, -1 outside regions), ``region_valid`` (R bool), ``key`` and one R-vector per
    field of ``region_labels.LABEL_FIELDS`` (class ids int64 with -1 padding, scores float).
    """

    def __init__(self, opt: dict):
        super().__init__()
        if 'dataroot' not in opt:
            raise PandaInputError('PandaSetDataset needs dataroot: an LMDB folder or a list of them')
        self.opt = opt
        self.reader = RecordReader(opt['dataroot'])
        training = opt.get('phase', 'train') == 'train'
        self.use_hflip = opt.get('use_hflip', training)
        self.use_rot = opt.get('use_rot', training)
        self.max_regions = int(opt.get('max_regions', 128))
        self._rng = np.random.default_rng(opt.get('seed'))

    def __len__(self) -> int:
        return len(self.reader)

    def __getitem__(self, index: int) -> dict:
        record = self.reader.read(index)
        arrays = [record['anchor'], record['target'], record['label_map']]
        arrays = self._augment(arrays)
        labels = record['region_labels']
        count = len(labels.relation)
        if count > self.max_regions:
            raise PandaInputError(f'record {record["key"]} has {count} regions; max_regions is '
                                  f'{self.max_regions} (raise max_regions in the dataset options)')
        item = {
            'key': record['key'],
            'anchor': rgb8_to_tensor(arrays[0]).contiguous(),
            'target': rgb8_to_tensor(arrays[1]).contiguous(),
            'label_map': torch.from_numpy(np.ascontiguousarray(arrays[2])).long(),
            'region_valid': torch.arange(self.max_regions) < count,
        }
        for name, values in labels.as_dict().items():
            scores = LABEL_FIELDS[name] == 0
            item[name] = _padded(values, self.max_regions, 0.0 if scores else -1,
                                 torch.float32 if scores else torch.long)
        return item

    def _augment(self, arrays: list) -> list:
        if self.use_hflip and self._rng.random() < 0.5:
            arrays = [a[:, ::-1] for a in arrays]
        if self.use_rot:
            if self._rng.random() < 0.5:
                arrays = [a[::-1] for a in arrays]
            if self._rng.random() < 0.5:
                arrays = [a.swapaxes(0, 1) for a in arrays]
        return arrays




def _padded(values: list, length: int, fill, dtype) -> torch.Tensor:
    out = torch.full((length,), fill, dtype=dtype)
    out[:len(values)] = torch.as_tensor(values, dtype=dtype)
    return out
