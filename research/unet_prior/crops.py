"""``ImageCropDataset``: random square crops of photographs in [-1, 1], for training priors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.specs import spec_argument
from panda_plugin.engine.tensors import rgb8_to_tensor


def read_image_set(spec: str) -> list:
    """HxWx3 uint8 images of ``bundled:train`` / ``bundled:bench`` / ``bundled:all`` or a folder.

    Args:
        spec: The image set.

    Returns:
        List of (name, image).
    """
    spec = str(spec)
    subset = spec_argument(spec, 'bundled')
    if subset is not None:
        from panda_plugin.engine.data.bundled import bundled_images

        return bundled_images(subset)
    from panda_plugin.engine.image_io import list_images, load_image

    folder = Path(spec)
    if not folder.is_dir():
        raise PandaInputError(f'images {spec!r}; accepted: bundled:train, bundled:bench, bundled:all or a folder')
    return [(p.stem, load_image(p, convert=True)) for p in list_images(folder)]


class ImageCropDataset(Dataset):
    """Square crops of an image set: an image drawn uniformly, then a crop position.

    Args:
        opt: BasicSR-style options: ``images`` (``bundled:train`` by default, or a folder);
            ``crop_size`` (default 32); ``length`` (items per epoch, default 4096); ``phase``
            (``'train'``: random crops with flips and 90-degree rotations; otherwise crop ``i``
            is fixed by ``seed`` and ``i``); ``seed`` (default 0).

    Each item: ``image``, a 3 x S x S float32 tensor in [-1, 1].
    """

    def __init__(self, opt: dict):
        super().__init__()
        self.opt = opt
        self.crop = int(opt.get('crop_size', 32))
        self.length = int(opt.get('length', 4096))
        if self.crop < 8 or self.length < 1:
            raise PandaInputError(f'crop_size {self.crop} / length {self.length}; accepted: crop_size >= 8, '
                                  'length >= 1')
        images = read_image_set(opt.get('images', 'bundled:train'))
        self.images = [im for _, im in images if min(im.shape[:2]) >= self.crop]
        if not self.images:
            raise PandaInputError(f'no image of {opt.get("images")!r} has sides of at least {self.crop}')
        self.training = opt.get('phase', 'train') == 'train'
        self.seed = int(opt.get('seed', 0))
        self._rng, self._worker = np.random.default_rng(self.seed), None

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        rng = self._train_rng() if self.training else np.random.default_rng((self.seed, index))
        image = self.images[rng.integers(len(self.images))]
        top = rng.integers(image.shape[0] - self.crop + 1)
        left = rng.integers(image.shape[1] - self.crop + 1)
        crop = image[top:top + self.crop, left:left + self.crop]
        if self.training:
            crop = np.rot90(crop[:, ::-1] if rng.random() < 0.5 else crop, rng.integers(4))
        return {'image': rgb8_to_tensor(crop, signed=True).contiguous()}

    def _train_rng(self) -> np.random.Generator:
        """The crop generator: the dataset's own, or in a loader worker one seeded by that worker."""
        worker = torch.utils.data.get_worker_info()
        if worker is None:
            return self._rng
        if self._worker != worker.id:
            self._worker, self._rng = worker.id, np.random.default_rng((self.seed, worker.seed))
        return self._rng
