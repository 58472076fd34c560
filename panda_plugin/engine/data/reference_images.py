"""Reference images for restoration tests: files, folders or bundled subsets, centre-cropped.

``read_images`` gives (name, image) pairs; ``ReferenceImageDataset`` serves them to BasicSR's
test pipeline as ground truth only (a restoration model degrades them itself).
"""
from __future__ import annotations

from pathlib import Path

from torch.utils.data import Dataset

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.data.bundled import bundled_images
from panda_plugin.engine.image_io import list_images, load_image, square_crop
from panda_plugin.engine.specs import spec_argument
from panda_plugin.engine.tensors import rgb8_to_tensor


def read_images(specs, size: int, names=None) -> list:
    """Centre crops of images from paths, folders or ``bundled:SUBSET``.

    Args:
        specs: Image files, folders (read recursively) or ``bundled:bench`` / ``bundled:train``.
        size: Side of the square crops (short side resized to it first).
        names: Keep only the images of these names (file stems, or bundled names), in this
            order. Default: all, in the order read.

    Returns:
        List of (name, size x size x 3 uint8 RGB).
    """
    images = []
    for spec in [specs] if isinstance(specs, (str, Path)) else specs:
        subset = spec_argument(spec, 'bundled')
        if subset is not None:
            images += [(n, square_crop(im, size)) for n, im in bundled_images(subset) if names is None or n in names]
            continue
        path = Path(spec)
        paths = list_images(path) if path.is_dir() else [path]
        images += [(p.stem, square_crop(load_image(p, convert=True), size)) for p in paths
                   if names is None or p.stem in names]
    where = ', '.join(map(str, [specs] if isinstance(specs, (str, Path)) else specs))
    if names is not None:
        found = dict(images)
        missing = [n for n in names if n not in found]
        if missing:
            raise PandaInputError(f'no image named {missing[0]!r} in {where}; accepted: {", ".join(found) or "none"}')
        images = [(n, found[n]) for n in names]
    if not images:
        raise PandaInputError(f'no images in {where}')
    return images


class ReferenceImageDataset(Dataset):
    """Ground-truth images only, as BasicSR test data (registered as a BasicSR dataset).

    Args:
        opt: BasicSR dataset options: ``images`` (a folder, a file, ``bundled:bench``, or a list
            of them), ``size`` (side of the centre crops, default 128), ``names`` (optional list
            of image names to keep) and BasicSR's ``name`` and ``phase``.

    Each item is ``{'gt': 3xSxS float32 in [0, 1], 'gt_path': name, 'lq_path': name}``: there
    is no LQ file; BasicSR's validation names its results by ``lq_path``, so the name serves.
    """

    def __init__(self, opt: dict):
        super().__init__()
        if 'images' not in opt:
            raise PandaInputError('ReferenceImageDataset needs images: a folder, a file or bundled:bench')
        size = opt.get('size', 128)
        if int(size) != size or size < 32:
            raise PandaInputError(f'ReferenceImageDataset size {size!r}; accepted: an integer >= 32')
        self.opt = opt
        self.images = read_images(opt['images'], int(size), opt.get('names'))

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict:
        name, image = self.images[index]
        return {'gt': rgb8_to_tensor(image), 'gt_path': name, 'lq_path': name}
