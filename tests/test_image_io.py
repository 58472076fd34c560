import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from panda_plugin import PandaInputError
from panda_plugin.engine.image_io import list_images, load_image


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
    grey = np.arange(64, dtype=np.uint8).reshape(8, 8)
    assert load_image(grey, convert=True).shape == (8, 8, 3)
    deep = (np.arange(192, dtype=np.uint16).reshape(8, 8, 3) * 300)
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
