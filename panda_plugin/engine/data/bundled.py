"""Images that ship inside installed packages, plus procedural scenes.

These are the only images the shipped weights are trained on. They are split once and for
all into a ``train`` set and a held-out ``bench`` set so that benchmarks never see a
training image.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.data.procedural import procedural_image
from panda_plugin.engine.image_io import load_image, save_image

# (subset, source, name): skimage.data functions and matplotlib sample files.
PACKAGED = (
    ('train', 'skimage', 'astronaut'),
    ('train', 'skimage', 'chelsea'),
    ('train', 'skimage', 'hubble_deep_field'),
    ('train', 'skimage', 'retina'),
    ('train', 'skimage', 'colorwheel'),
    ('train', 'skimage', 'logo'),
    ('train', 'skimage', 'camera'),
    ('train', 'skimage', 'moon'),
    ('train', 'skimage', 'grass'),
    ('train', 'skimage', 'brick'),
    ('train', 'skimage', 'page'),
    ('train', 'skimage', 'stereo_motorcycle'),
    ('train', 'matplotlib', 'Minduka_Present_Blue_Pack.png'),
    ('bench', 'skimage', 'coffee'),
    ('bench', 'skimage', 'rocket'),
    ('bench', 'skimage', 'immunohistochemistry'),
    ('bench', 'skimage', 'coins'),
    ('bench', 'skimage', 'gravel'),
    ('bench', 'skimage', 'clock'),
    ('bench', 'skimage', 'text'),
    ('bench', 'matplotlib', 'grace_hopper.jpg'),
)
#: Training images whose short side is at least this many pixels also contribute their four
#: corner squares of half that side, so that training sees texture near native resolution.
TILE_MIN_SIDE = 480
#: Procedural scene seeds per subset (disjoint).
PROCEDURAL_SEEDS = {'train': range(0, 40), 'bench': range(1000, 1010)}
SUBSETS = ('train', 'bench', 'all')


def packaged_image(source: str, name: str) -> np.ndarray:
    """Load one image shipped in an installed package as 8-bit RGB.

    Args:
        source: ``'skimage'`` (a ``skimage.data`` function name) or ``'matplotlib'`` (a
            sample-data file name).
        name: The image's name in that package.

    Returns:
        HxWx3 uint8 RGB array.
    """
    if source == 'skimage':
        import skimage.data

        image = getattr(skimage.data, name)()
        if name == 'stereo_motorcycle':  # (left, right, disparity): the left photograph
            image = image[0]
        return load_image(image, convert=True, name=name)
    import matplotlib

    path = Path(matplotlib.get_data_path()) / 'sample_data' / name
    return load_image(path, convert=True)


def bundled_images(subset: str = 'train') -> list[tuple[str, np.ndarray]]:
    """All bundled images of a subset, with stable names.

    Args:
        subset: ``'train'``, ``'bench'`` (held out) or ``'all'``. Default: ``'train'``.

    Returns:
        List of (name, HxWx3 uint8 RGB array), packaged images first, then procedural ones.
    """
    if subset not in SUBSETS:
        raise PandaInputError(f'unknown image subset {subset!r}; accepted: {", ".join(SUBSETS)}')
    wanted = ('train', 'bench') if subset == 'all' else (subset,)
    images = []
    for part, source, name in PACKAGED:
        if part in wanted:
            image = packaged_image(source, name)
            stem = f'{source}_{Path(name).stem}'
            images.append((stem, image))
            if part == 'train':
                images += [(f'{stem}_tile{k}', tile) for k, tile in enumerate(corner_tiles(image))]
    for part in wanted:
        images += [(f'procedural_{seed:04d}', procedural_image(seed)) for seed in PROCEDURAL_SEEDS[part]]
    return images


def corner_tiles(image: np.ndarray) -> list[np.ndarray]:
    """The four corner squares of half the short side, for images at least ``TILE_MIN_SIDE``.

    Args:
        image: HxWx3 array.

    Returns:
        Four arrays (top-left, top-right, bottom-left, bottom-right), or none for small images.
    """
    height, width = image.shape[:2]
    if min(height, width) < TILE_MIN_SIDE:
        return []
    side = min(height, width) // 2
    return [image[top:top + side, left:left + side] for top in (0, height - side) for left in (0, width - side)]


def export_bundled_images(folder, subset: str = 'train') -> list[Path]:
    """Write the bundled images of a subset as PNG files.

    Args:
        folder: Destination folder (created if missing).
        subset: ``'train'``, ``'bench'`` or ``'all'``. Default: ``'train'``.

    Returns:
        Paths of the written files, sorted.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, image in bundled_images(subset):
        path = folder / f'{name}.png'
        save_image(path, image)
        paths.append(path)
    return sorted(paths)
