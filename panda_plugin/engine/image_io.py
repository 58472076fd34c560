"""Reading images from paths, PIL images, arrays and tensors into one format.

Every image the package works on is an HxWx3 ``uint8`` RGB numpy array. Files are turned
upright by their EXIF orientation tag, as are PIL images that carry one. Images whose short side
is below ``MIN_SIDE`` pixels, or with more than ``MAX_PIXELS`` pixels, are refused (a file's
declared size is checked before it is decoded).
"""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from panda_plugin.core.atomic import write_atomic
from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.masks import MAX_PIXELS

#: File name endings read as images.
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.webp', '.bmp', '.tif', '.tiff')
#: Shortest side, in pixels, of an image ``load_image`` accepts (PANDA's smallest regions are
#: 8x8 pixels; below 32 pixels an image holds too few of them to compare).
MIN_SIDE = 32
#: PIL modes whose pixels are not RGB(A) or grey values; read through PIL's RGB conversion.
_PIL_CONVERTED = {'P': 'RGB', 'PA': 'RGBA', '1': 'L', 'CMYK': 'RGB', 'YCbCr': 'RGB', 'LAB': 'RGB',
                  'HSV': 'RGB', 'La': 'LA', 'RGBa': 'RGBA', 'RGBX': 'RGB'}

_ACCEPTED = 'an 8-bit RGB image (path, PIL image, HxWx3 uint8 array or 3xHxW [0,1] tensor)'
_CONVERT = ' (load_image(..., convert=True) converts grey, RGBA and 16-bit images)'


def load_image(image, *, convert: bool = False, name: str = 'image',
               min_side: int = MIN_SIDE) -> np.ndarray:
    """Read an image into an HxWx3 uint8 RGB array.

    Args:
        image: A file path, a PIL image, an HxWx3 uint8 (or [0,1] float) RGB array, or a
            3xHxW / 1x3xHxW tensor in [0,1].
        convert: Convert grey, grey+alpha, RGBA and 16-bit images to 8-bit RGB instead of
            rejecting them (alpha is dropped). Default: False.
        name: What to call the image in error messages. Default: ``'image'``.
        min_side: Shortest side accepted, in pixels. Default: ``MIN_SIDE`` (32).

    Returns:
        HxWx3 uint8 RGB array (a new, writable array; the input is never modified), upright when the
        file or PIL image carries an EXIF orientation tag.
    """
    if isinstance(image, (str, os.PathLike)):
        label = f'{name} {str(image)!r}'
        array = decode_file(Path(image))
        array = _to_rgb8(array, convert, label, bgr=True)
        return _checked_size(orient(array, exif_orientation(Path(image))), label, min_side)
    if type(image).__module__.startswith('PIL.'):
        from PIL import ImageOps

        label = f'{name} (PIL mode {image.mode})'
        upright = ImageOps.exif_transpose(image)
        if upright.mode in _PIL_CONVERTED:
            upright = upright.convert(_PIL_CONVERTED[upright.mode])
        return _checked_size(_to_rgb8(np.array(upright), convert, label, bgr=False), label, min_side)
    if type(image).__module__.startswith('torch'):
        array = image.detach().cpu().float().numpy()
        if array.ndim == 4 and array.shape[0] == 1:
            array = array[0]
        if array.ndim != 3 or array.shape[0] not in (1, 3, 4):
            raise PandaInputError(f'{name}: tensor of shape {tuple(image.shape)}; accepted: '
                                  '3xHxW or 1x3xHxW in [0,1]')
        return _checked_size(_to_rgb8(array.transpose(1, 2, 0), convert, name, bgr=False), name, min_side)
    if isinstance(image, np.ndarray):
        return _checked_size(_to_rgb8(np.array(image), convert, name, bgr=False), name, min_side)
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
    declared = declared_size(path)
    if declared is not None and declared[0] * declared[1] > MAX_PIXELS:
        raise PandaInputError(f'{what} file {str(path)!r} declares {declared[0]}x{declared[1]} '
                              f'pixels (HxW); accepted: at most {MAX_PIXELS} pixels')
    data = np.fromfile(path, dtype=np.uint8)
    decoded = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if decoded is None:
        raise PandaInputError(f'cannot decode {what} file {str(path)!r} (corrupt or not an image); '
                              f'accepted: {accepted}')
    return decoded


def declared_size(path: Path) -> tuple[int, int] | None:
    """``(height, width)`` an image file declares in its header, read without decoding it.

    Args:
        path: An image file.

    Returns:
        The size, or None when PIL cannot read the header (the decoder then decides).
    """
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)
            with Image.open(path) as image:
                return image.size[1], image.size[0]
    except Image.DecompressionBombError:
        raise PandaInputError(f'image file {str(path)!r} declares more than {MAX_PIXELS} pixels; '
                              f'accepted: at most {MAX_PIXELS} pixels') from None
    except Exception:  # any format PIL does not know: OpenCV decodes it or names the error
        return None


def exif_orientation(path: Path) -> int:
    """The EXIF orientation tag (1..8) of an image file; 1 (upright) when there is none.

    Args:
        path: An image file.

    Returns:
        The tag value.
    """
    from PIL import Image

    try:
        with Image.open(path) as image:
            value = int(image.getexif().get(0x0112, 1))
    except Exception:  # no readable EXIF block: the file is taken as stored
        return 1
    return value if 1 <= value <= 8 else 1


def orient(image: np.ndarray, orientation: int) -> np.ndarray:
    """Turn an HxWxC array as stored into its upright view, given an EXIF orientation tag.

    Args:
        image: The array as decoded.
        orientation: EXIF tag value 1..8 (1: upright, 6: rotate 90 degrees clockwise, ...).

    Returns:
        A contiguous upright array (the same one for tag 1).
    """
    turned = {
        2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, -1),
        7: lambda a: a[::-1, ::-1].swapaxes(0, 1), 8: lambda a: np.rot90(a, 1),
    }.get(orientation)
    return image if turned is None else np.ascontiguousarray(turned(image))


def _checked_size(image: np.ndarray, label: str, min_side: int) -> np.ndarray:
    check_image_size(image.shape[0], image.shape[1], label, min_side)
    return image


def check_image_size(height: int, width: int, name: str = 'image', min_side: int = MIN_SIDE) -> None:
    """Refuse an image smaller than ``min_side`` on its short side or larger than ``MAX_PIXELS``.

    Args:
        height: Image height in pixels.
        width: Image width in pixels.
        name: What to call the image in the message. Default: ``'image'``.
        min_side: Shortest side accepted. Default: ``MIN_SIDE``.
    """
    if min(height, width) < min_side:
        raise PandaInputError(f'{name}: {height}x{width} pixels (HxW) is too small; accepted: at '
                              f'least {min_side} pixels on the short side')
    if height * width > MAX_PIXELS:
        raise PandaInputError(f'{name}: {height}x{width} pixels (HxW) is too large; accepted: at '
                              f'most {MAX_PIXELS} pixels')


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
            raise PandaInputError(f'{label}: 16-bit image; accepted: {_ACCEPTED}{_CONVERT}')
        array = ((array.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    elif array.dtype != np.uint8:
        raise PandaInputError(f'{label}: dtype {array.dtype}; accepted: {_ACCEPTED}')
    if channels != 3:
        if not convert:
            kind = {1: 'grey', 2: 'grey+alpha', 4: 'RGBA'}[channels]
            raise PandaInputError(f'{label}: {kind} image with {channels} channel(s); accepted: '
                                  f'{_ACCEPTED}{_CONVERT}')
        array = np.repeat(array[:, :, :1], 3, axis=2) if channels < 3 else array[:, :, :3]
    if bgr and channels >= 3:
        array = array[:, :, ::-1]
    return np.ascontiguousarray(array)


def tensor_to_rgb8(images) -> np.ndarray:
    """A batch of image tensors as uint8 RGB arrays (values clamped to [0, 1], rounded).

    Args:
        images: Bx3xHxW torch tensor in [0, 1], on any device (gradients are not followed).

    Returns:
        BxHxWx3 uint8 array (each image contiguous).
    """
    return np.ascontiguousarray((images.detach().clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).cpu().numpy())


def save_image(path, image: np.ndarray) -> None:
    """Write an HxWx3 uint8 RGB array to a file whose type follows its suffix.

    Args:
        path: Destination path.
        image: HxWx3 uint8 RGB array.
    """
    write_atomic(path, encode_image(path, np.ascontiguousarray(image[:, :, ::-1])), 'image file')


def encode_image(path, array: np.ndarray) -> bytes:
    """Encode an array as the image type of a path's suffix (PNG when it has none).

    Args:
        path: The destination path (only its suffix is used).
        array: An array OpenCV can encode (BGR channel order, or one channel).

    Returns:
        The encoded file.
    """
    suffix = Path(path).suffix or '.png'
    try:
        ok, encoded = cv2.imencode(suffix, array)
    except cv2.error:
        ok = False
    if not ok:
        raise PandaInputError(f'cannot encode an image as {suffix!r} for {str(path)!r}; accepted: .png, .jpg, '
                              '.webp, .bmp, .tif')
    return encoded.tobytes()


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
