"""Reading images from paths, PIL images, arrays and tensors into one format.

Every image the package works on is an HxWx3 ``uint8`` RGB numpy array.
"""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from panda_plugin.core.errors import PandaInputError

#: File name endings read as images.
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.webp', '.bmp', '.tif', '.tiff')

_ACCEPTED = 'an 8-bit RGB image (path, PIL image, HxWx3 uint8 array or 3xHxW [0,1] tensor)'


def load_image(image, *, convert: bool = False, name: str = 'image') -> np.ndarray:
    """Read an image into an HxWx3 uint8 RGB array.

    Args:
        image: A file path, a PIL image, an HxWx3 uint8 (or [0,1] float) RGB array, or a
            3xHxW / 1x3xHxW tensor in [0,1].
        convert: Convert grey, grey+alpha, RGBA and 16-bit images to 8-bit RGB instead of
            rejecting them (alpha is dropped). Default: False.
        name: What to call the image in error messages. Default: ``'image'``.

    Returns:
        HxWx3 uint8 RGB array (a new array; the input is never modified).
    """
    if isinstance(image, (str, os.PathLike)):
        return _to_rgb8(decode_file(Path(image)), convert, f'{name} {str(image)!r}', bgr=True)
    if type(image).__module__.startswith('PIL.'):
        return _to_rgb8(np.asarray(image), convert, f'{name} (PIL mode {image.mode})', bgr=False)
    if type(image).__module__.startswith('torch'):
        array = image.detach().cpu().float().numpy()
        if array.ndim == 4 and array.shape[0] == 1:
            array = array[0]
        if array.ndim != 3 or array.shape[0] not in (1, 3, 4):
            raise PandaInputError(f'{name}: tensor of shape {tuple(image.shape)}; accepted: '
                                  '3xHxW or 1x3xHxW in [0,1]')
        return _to_rgb8(array.transpose(1, 2, 0), convert, name, bgr=False)
    if isinstance(image, np.ndarray):
        return _to_rgb8(image, convert, name, bgr=False)
    raise PandaInputError(f'{name}: cannot read a {type(image).__name__}; accepted: {_ACCEPTED}')


def decode_file(path: Path, what: str = 'image', accepted: str = ', '.join(IMAGE_SUFFIXES)) -> np.ndarray:
    """Decode an image file as stored (OpenCV channel order, any depth and channel count).

    Args:
        path: The file.
        what: What the file is, for error messages. Default: ``'image'``.
        accepted: The accepted formats, for error messages.

    Returns:
        The decoded array.
    """
    if not path.is_file():
        raise PandaInputError(f'{what} file {str(path)!r} does not exist')
    data = np.fromfile(path, dtype=np.uint8)
    decoded = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if decoded is None:
        raise PandaInputError(f'cannot decode {what} file {str(path)!r} (corrupt or not an image); '
                              f'accepted: {accepted}')
    return decoded


def _to_rgb8(array: np.ndarray, convert: bool, label: str, *, bgr: bool) -> np.ndarray:
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 2, 3, 4) or min(array.shape[:2]) < 1:
        raise PandaInputError(f'{label}: shape {array.shape} is not an image; accepted: {_ACCEPTED}')
    channels = array.shape[2]
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise PandaInputError(f'{label}: contains NaN or infinite values')
        low, high = float(array.min()), float(array.max())
        if low < 0 or high > 1:
            raise PandaInputError(f'{label}: float values span [{low:.3g}, {high:.3g}]; accepted: [0, 1]')
        array = np.round(array * 255).astype(np.uint8)
    elif array.dtype == np.uint16:
        if not convert:
            raise PandaInputError(f'{label}: 16-bit image; accepted: {_ACCEPTED}')
        array = ((array.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    elif array.dtype != np.uint8:
        raise PandaInputError(f'{label}: dtype {array.dtype}; accepted: {_ACCEPTED}')
    if channels != 3:
        if not convert:
            kind = {1: 'grey', 2: 'grey+alpha', 4: 'RGBA'}[channels]
            raise PandaInputError(f'{label}: {kind} image with {channels} channel(s); accepted: {_ACCEPTED}')
        array = np.repeat(array[:, :, :1], 3, axis=2) if channels < 3 else array[:, :, :3]
    if bgr and channels >= 3:
        array = array[:, :, ::-1]
    return np.ascontiguousarray(array)


def save_image(path, image: np.ndarray) -> None:
    """Write an HxWx3 uint8 RGB array to a file whose type follows its suffix.

    Args:
        path: Destination path.
        image: HxWx3 uint8 RGB array.
    """
    path = Path(path)
    ok, encoded = cv2.imencode(path.suffix or '.png', np.ascontiguousarray(image[:, :, ::-1]))
    if not ok:
        raise PandaInputError(f'cannot encode an image as {path.suffix!r}')
    path.write_bytes(encoded.tobytes())


def square_crop(image: np.ndarray, size: int) -> np.ndarray:
    """Resize the short side to ``size`` and centre-crop a ``size`` x ``size`` square.

    Args:
        image: HxWx3 uint8 RGB array.
        size: Output side in pixels.

    Returns:
        size x size x 3 uint8 RGB array.
    """
    height, width = image.shape[:2]
    scale = size / min(height, width)
    new_size = (max(size, round(width * scale)), max(size, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    resized = cv2.resize(image, new_size, interpolation=interpolation)
    top = (resized.shape[0] - size) // 2
    left = (resized.shape[1] - size) // 2
    return np.ascontiguousarray(resized[top:top + size, left:left + size])


def list_images(folder) -> list[Path]:
    """Image files directly inside a folder and its subfolders, sorted by path.

    Args:
        folder: Directory to scan.

    Returns:
        Sorted list of paths whose suffix is in ``IMAGE_SUFFIXES``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise PandaInputError(f'image folder {str(folder)!r} does not exist or is not a folder')
    return sorted(p for p in folder.rglob('*') if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
