import cv2
import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from panda_plugin import PandaInputError
from panda_plugin.engine.image_io import MIN_SIDE, list_images, load_image


def test_all_input_kinds_agree(tmp_path, small_astronaut):
    path = tmp_path / 'a.png'
    cv2.imwrite(str(path), small_astronaut[:, :, ::-1])
    tensor = torch.from_numpy(small_astronaut.transpose(2, 0, 1)).float() / 255
    for source in (path, str(path), Image.open(path), small_astronaut, tensor, tensor[None]):
        np.testing.assert_array_equal(load_image(source), small_astronaut)


@pytest.mark.parametrize('array, message', [
    (np.zeros((8, 8), np.uint8), 'grey'),
    (np.zeros((8, 8, 4), np.uint8), 'RGBA'),
    (np.zeros((8, 8, 3), np.uint16), '16-bit'),
    (np.full((8, 8, 3), np.nan, np.float32), 'NaN'),
    (np.full((8, 8, 3), 2.0, np.float32), r'\[0, 1\]'),
])
def test_bad_arrays_are_rejected_by_name(array, message):
    with pytest.raises(PandaInputError, match=message):
        load_image(array)


def test_convert_handles_grey_rgba_and_16_bit(tmp_path):
    grey = np.arange(32 * 32, dtype=np.uint8).reshape(32, 32)
    assert load_image(grey, convert=True).shape == (32, 32, 3)
    deep = (np.arange(32 * 32 * 3, dtype=np.uint16).reshape(32, 32, 3) * 21)
    cv2.imwrite(str(tmp_path / 'deep.png'), deep)
    converted = load_image(tmp_path / 'deep.png', convert=True)
    assert converted.dtype == np.uint8 and converted[0, 0, 2] == round(deep[0, 0, 0] * 255 / 65535)
    with pytest.raises(PandaInputError, match='16-bit'):
        load_image(tmp_path / 'deep.png')


def test_corrupt_and_missing_files(tmp_path):
    (tmp_path / 'broken.jpg').write_bytes(b'not a jpeg')
    with pytest.raises(PandaInputError, match='broken.jpg'):
        load_image(tmp_path / 'broken.jpg')
    with pytest.raises(PandaInputError, match='does not exist'):
        load_image(tmp_path / 'missing.png')
    assert list_images(tmp_path) == [tmp_path / 'broken.jpg']


@pytest.mark.parametrize('orientation', range(1, 9))
def test_exif_orientation_is_applied(tmp_path, small_astronaut, orientation):
    image = Image.fromarray(small_astronaut[:, :96])
    exif = image.getexif()
    exif[0x0112] = orientation
    path = tmp_path / 'turned.jpg'
    image.save(path, exif=exif.tobytes(), quality=95)
    upright = np.asarray(ImageOps.exif_transpose(Image.open(path))).astype(int)
    for source in (path, Image.open(path)):
        loaded = load_image(source)
        assert loaded.shape == upright.shape
        assert np.abs(loaded.astype(int) - upright).mean() < 1
    assert (load_image(path).shape[0] == 96) == (orientation >= 5)


def test_images_below_the_minimum_size_are_refused(tmp_path):
    for shape in ((MIN_SIDE - 1, 100, 3), (7, 7, 3)):
        with pytest.raises(PandaInputError, match=f'{shape[0]}x{shape[1]} pixels.*at least {MIN_SIDE}'):
            load_image(np.zeros(shape, np.uint8))
    cv2.imwrite(str(tmp_path / 'tiny.png'), np.zeros((16, 16, 3), np.uint8))
    with pytest.raises(PandaInputError, match="tiny.png.*16x16"):
        load_image(tmp_path / 'tiny.png')
    assert load_image(np.zeros((MIN_SIDE, MIN_SIDE, 3), np.uint8)).shape == (MIN_SIDE, MIN_SIDE, 3)
    assert load_image(np.zeros((7, 7, 3), np.uint8), min_side=1).shape == (7, 7, 3)


def test_pil_palette_and_cmyk_images_are_read_as_rgb(small_astronaut):
    palette = Image.fromarray(small_astronaut).convert('P')
    np.testing.assert_array_equal(load_image(palette), np.asarray(palette.convert('RGB')))
    cmyk = Image.fromarray(small_astronaut).convert('CMYK')
    np.testing.assert_array_equal(load_image(cmyk), np.asarray(cmyk.convert('RGB')))
