"""Pairing the images of two or three folders by file name (stem)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.image_io import list_images


@dataclass(frozen=True)
class ImageSet:
    """Images of one name in several folders (e.g. restored and reference).

    Attributes:
        name: The shared file name stem.
        paths: One path per folder, in the order the folders were given.
    """

    name: str
    paths: tuple[Path, ...]


def images_by_stem(folder: str | os.PathLike) -> dict[str, Path]:
    """Images of a folder (searched recursively) by file name stem.

    Args:
        folder: Directory.

    Returns:
        Stem -> path, sorted by stem.
    """
    found: dict[str, Path] = {}
    for path in list_images(folder):
        if path.stem in found:
            raise PandaInputError(f'{str(folder)!r} holds two images named {path.stem!r} '
                                  f'({found[path.stem]} and {path}); accepted: one image per name')
        found[path.stem] = path
    if not found:
        raise PandaInputError(f'{str(folder)!r} holds no images (jpg, png, webp, bmp, tiff)')
    return dict(sorted(found.items()))


def pair_folders(*folders: str | os.PathLike) -> list[ImageSet]:
    """Images that share a name across folders: ``restored/0801.png`` with ``reference/0801.jpg``.

    Every name of the first folder must be in every other folder (extra images in the others,
    e.g. references of images not restored, are ignored).

    Args:
        *folders: Two or more directories; the first one sets the names.

    Returns:
        One ``ImageSet`` per name, sorted by name.
    """
    listings = [images_by_stem(folder) for folder in folders]
    for folder, listing in zip(folders[1:], listings[1:]):
        missing = [name for name in listings[0] if name not in listing]
        if missing:
            shown = ', '.join(missing[:5]) + (f' and {len(missing) - 5} more' if len(missing) > 5 else '')
            raise PandaInputError(f'{len(missing)} of the {len(listings[0])} images of {str(folders[0])!r} '
                                  f'have no image of the same name in {str(folder)!r}: {shown}; images '
                                  'are paired by file name without extension')
    return [ImageSet(name, tuple(listing[name] for listing in listings)) for name in listings[0]]
