"""Photographs and graphics from Debian wallpaper packages, for training and held-out checks.

``python -m panda_plugin.engine.data.photos datasets/photos`` (``make photos``) downloads the
packages below at pinned versions with ``apt-get download``, checks their SHA-256, extracts
them with ``dpkg-deb -x`` and copies their raster images (jpg, png, webp; SVG files are
skipped) into ``train/`` and ``bench/`` under the folder. ``HELD_OUT`` names the bench
files; they are never used in training, in any crop.

``photos:train`` (``panda make-dataset --images photos:train``) gives, for every training
file, the whole image (the builder centre-crops and downscales it) and square crops cut at
native resolution and at 2x and 4x reduction (``CROP_SCALES``), so training sees the grain,
soft focus and fine texture of unprocessed photographs at the scale they are compared at.
``photos:bench`` is the ``bench/`` folder as it is.
"""
from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import cv2
import numpy as np

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.image_io import list_images, load_image, save_image

#: (package, version, SHA-256 of the .deb) of every source package.
PACKAGES = (
    ('lomiri-wallpapers-16.04', '20.04.0-2', 'a99ff6a3bfe451e4cc0682ecb3cc82e71740626d59e4845ae34a0a0e45421eab'),
    ('lomiri-wallpapers-20.04', '20.04.0-2', 'd44e89b8473aafe64a5b678f014862dc31335aaaf18665c544d985d854f1a709'),
    ('gnome-backgrounds', '43.1-1', 'a670dea21572652127d6e55f9cdb3a226d0037854fdbfd037003c7d00ee0dc4e'),
)
#: File extensions copied from the packages (SVG would need a renderer).
RASTER = ('.jpg', '.jpeg', '.png', '.webp')
#: Held-out files (four photographs and one graphic in its light and dark variants).
HELD_OUT = (
    'Bridge_by_Sander_Klootwijk.jpg',
    'Kleiber_by_Lukas_Baubkus.jpg',
    'sunset_by_Aitzol_Berasategi.jpg',
    'Dragonfly_by_Bolly.jpg',
    'truchet-l.webp',
    'truchet-d.webp',
)
#: Default folder of ``make photos`` (overridden by the ``PANDA_PHOTOS`` variable).
DEFAULT_FOLDER = Path('datasets/photos')
#: Reduction factors of the crops of ``photos:train`` (1 = native resolution).
CROP_SCALES = (1, 1, 1, 2, 2, 4)
#: Long side of the whole-image view written for ``photos:train``.
WHOLE_SIDE = 1024


def photos_folder() -> Path:
    """The folder ``make photos`` filled: ``$PANDA_PHOTOS`` or ``datasets/photos``."""
    return Path(os.environ.get('PANDA_PHOTOS') or DEFAULT_FOLDER)


def subset_of(name: str) -> str:
    """``'bench'`` for a held-out file name, else ``'train'``."""
    return 'bench' if name in HELD_OUT else 'train'


def download_photos(folder, debs=None) -> dict[str, int]:
    """Download, check and extract the packages and split their images into train and bench.

    Args:
        folder: Destination (``train/`` and ``bench/`` are created in it).
        debs: Folder holding (or receiving) the .deb files. Default: ``folder/debs``.

    Returns:
        Number of files per subset.
    """
    folder = Path(folder)
    debs = Path(debs) if debs else folder / 'debs'
    debs.mkdir(parents=True, exist_ok=True)
    counts = {'train': 0, 'bench': 0}
    for subset in counts:
        (folder / subset).mkdir(parents=True, exist_ok=True)
    for package, version, sha256 in PACKAGES:
        deb = debs / f'{package}_{version}_all.deb'
        if not deb.is_file():
            subprocess.run(['apt-get', 'download', f'{package}={version}'], cwd=debs, check=True)
        digest = hashlib.sha256(deb.read_bytes()).hexdigest()
        if digest != sha256:
            raise PandaInputError(f'{deb} has SHA-256 {digest}, expected {sha256}')
        with tempfile.TemporaryDirectory() as scratch:
            subprocess.run(['dpkg-deb', '-x', str(deb), scratch], check=True)
            for path in sorted(Path(scratch).rglob('*')):
                if path.suffix.lower() in RASTER and path.is_file():
                    subset = subset_of(path.name)
                    shutil.copyfile(path, folder / subset / path.name)
                    counts[subset] += 1
    return counts


def photo_views(image: np.ndarray, name: str, size: int) -> list[tuple[str, np.ndarray]]:
    """The whole image and its square crops at the scales of ``CROP_SCALES``.

    Crops are cut at random (seeded by the name) positions from windows of ``size * scale``
    pixels and reduced to ``size`` (area average); windows larger than the image are left out.

    Args:
        image: HxWx3 uint8 RGB photograph.
        name: Stable name of the file.
        size: Side of the crops (the training size).

    Returns:
        List of (view name, HxWx3 uint8 array).
    """
    height, width = image.shape[:2]
    factor = min(1.0, WHOLE_SIDE / max(height, width))
    whole = cv2.resize(image, (round(width * factor), round(height * factor)), interpolation=cv2.INTER_AREA) \
        if factor < 1 else image
    views = [(f'{name}_whole', whole)]
    rng = np.random.default_rng(np.random.SeedSequence([zlib.crc32(name.encode()), size]))
    for number, scale in enumerate(CROP_SCALES):
        window = size * scale
        if window > min(height, width):
            continue
        top = int(rng.integers(0, height - window + 1))
        left = int(rng.integers(0, width - window + 1))
        crop = image[top:top + window, left:left + window]
        if scale > 1:
            crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
        views.append((f'{name}_crop{number}_x{scale}', np.ascontiguousarray(crop)))
    return views


def export_photo_views(source, folder, size: int = 256) -> list[Path]:
    """Write ``photo_views`` of every image of a folder as PNG files.

    Args:
        source: Folder of photographs (e.g. ``datasets/photos/train``).
        folder: Destination folder (created if missing).
        size: Side of the crops. Default: 256.

    Returns:
        Paths of the written files, sorted.
    """
    files = list_images(source)
    if not files:
        raise PandaInputError(f'no images in {str(source)!r}; run `make photos` first')
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for path in files:
        for name, view in photo_views(load_image(path, convert=True), Path(path).stem, size):
            target = folder / f'{name}.png'
            if not target.is_file():
                save_image(target, view)
            paths.append(target)
    return sorted(paths)


def resolve_photos(subset: str, scratch, size: int = 256) -> Path:
    """The image folder of ``photos:train`` (views exported under ``scratch``) or ``photos:bench``.

    Args:
        subset: ``'train'`` or ``'bench'``.
        scratch: Folder for exported views.
        size: Training size. Default: 256.

    Returns:
        A folder of images.
    """
    if subset not in ('train', 'bench'):
        raise PandaInputError(f'unknown photo subset {subset!r}; accepted: train, bench')
    source = photos_folder() / subset
    if not source.is_dir() or not list_images(source):
        raise PandaInputError(f'no photographs in {str(source)!r}; run `make photos` '
                              '(or set PANDA_PHOTOS to the folder it filled)')
    if subset == 'bench':
        return source
    folder = Path(scratch) / f'photos_train_{size}'
    # Exported in a fresh process: decoding and resizing start OpenCV's thread pool, and the
    # builder's workers are forked from this process, where an inherited busy pool deadlocks.
    worker = multiprocessing.get_context('spawn').Process(target=export_photo_views,
                                                          args=(source, folder, size))
    worker.start()
    worker.join()
    if worker.exitcode != 0:
        raise PandaInputError(f'exporting the photographs of {str(source)!r} failed '
                              f'(exit code {worker.exitcode})')
    return folder


if __name__ == '__main__':
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_FOLDER
    counts = download_photos(target, sys.argv[2] if len(sys.argv) > 2 else None)
    logging.getLogger(__name__).info('photographs per split in %s: %s', target, counts)
