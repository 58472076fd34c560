"""Super-resolution training data for BasicSR's ``PairedImageDataset``: HR images and their
bicubic LR versions (MATLAB-style ``imresize``, as BasicSR's own scripts make them)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from basicsr.utils.matlab_functions import imresize
from tqdm import tqdm

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.image_io import list_images, load_image, save_image, square_crop


@dataclass(frozen=True)
class SRDataReport:
    """What ``make_sr_data`` wrote.

    Args:
        train: Number of training pairs.
        val: Number of validation pairs.
    """

    train: int
    val: int


def make_sr_data(train_images: list[tuple[str, np.ndarray]], val_images: list[tuple[str, np.ndarray]],
                 out, scale: int = 4, size: int = 256, val_size: int = 128) -> SRDataReport:
    """Write ``<out>/{train,val}/HR`` and ``<out>/{train,val}/LR_bicubic/X<scale>`` PNG folders.

    Args:
        train_images: (name, HxWx3 uint8 RGB) training images.
        val_images: (name, image) validation images.
        out: Output folder.
        scale: Downscaling factor. Default: 4.
        size: Side of the training HR images (short side resized to it, centre square crop).
            Default: 256.
        val_size: Side of the validation HR images. Default: 128.

    Returns:
        Counts of written pairs.
    """
    if scale not in (2, 3, 4, 8):
        raise PandaInputError(f'scale {scale!r}; accepted: 2, 3, 4, 8')
    for name, side in (('size', size), ('val_size', val_size)):
        if side < 8 * scale or side % scale:
            raise PandaInputError(f'{name} {side!r} must be a multiple of the scale {scale} and at least {8 * scale}')
    out = Path(out)
    counts = {}
    for split, images, side in (('train', train_images, size), ('val', val_images, val_size)):
        high, low = out / split / 'HR', out / split / 'LR_bicubic' / f'X{scale}'
        high.mkdir(parents=True, exist_ok=True)
        low.mkdir(parents=True, exist_ok=True)
        for name, image in tqdm(images, desc=f'{split} pairs', unit='image'):
            crop = square_crop(image, side)
            small = imresize(crop.astype(np.float32) / 255, 1 / scale)
            save_image(high / f'{name}.png', crop)
            save_image(low / f'{name}.png', (np.clip(small, 0, 1) * 255).round().astype(np.uint8))
        counts[split] = len(images)
    return SRDataReport(counts['train'], counts['val'])


def read_folder(folder) -> tuple[list[tuple[str, np.ndarray]], list]:
    """Every readable image of a folder (recursively), with unreadable ones reported.

    Args:
        folder: Folder of jpg/png/webp/bmp/tiff images.

    Returns:
        ((name, HxWx3 uint8 RGB) list sorted by path, (path, reason) list of skipped files).
    """
    images, skipped = [], []
    for path in list_images(Path(folder)):
        try:
            images.append((path.stem, load_image(path, convert=True)))
        except PandaInputError as error:
            skipped.append((str(path), str(error)))
    return images, skipped
