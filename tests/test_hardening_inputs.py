"""Inputs outside each interface's convention are refused with one line naming the value and the
range: BasicSR's metric (uint8 or 0-255 float), PANDA's tensors ([0, 1], non-empty, floating
point; half precision works) and dp-sweep's numbers (finite, in range, whole where counts)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data
import torch
from cli_checks import cli_error

from panda_plugin.core.errors import PandaInputError


@pytest.fixture(scope='module')
def bgr_pair():
    sharp = np.ascontiguousarray(cv2.resize(skimage.data.astronaut(), (96, 96))[:, :, ::-1])
    return cv2.GaussianBlur(sharp, (7, 7), 3), sharp


def test_calculate_panda_takes_uint8_or_0_255_floats_only(bgr_pair):
    pytest.importorskip('basicsr')
    from panda_plugin.adapters.basicsr.metric import calculate_panda

    blurred, sharp = bgr_pair
    score = calculate_panda(blurred, sharp, crop_border=0)
    assert 0 < score < 0.9 and calculate_panda(blurred.astype(np.float32), sharp.astype(np.float64), 0) == score
    for img, img2, crop, fragment in (
            (blurred / 255.0, sharp / 255.0, 0, r'float image values span \[0, 1\], the \[0, 1\] range; accepted: '
                                                r'uint8 or float images in \[0, 255\]'),
            (blurred * 1.0, sharp * 300.0, 0, r'span \[0, 7.* accepted: finite values in \[0, 255\]'),
            (np.full(sharp.shape, np.nan), sharp * 1.0, 0, 'float images hold NaN or infinite values'),
            (blurred.astype(np.uint16), sharp.astype(np.uint16), 0, 'images of dtype uint16; accepted: uint8'),
            (blurred[:0], sharp[:0], 0, r'an empty image \(0, 96, 3\)'),
            (blurred, sharp, 40, r'crop_border 40 leaves 16x16 of the 96x96 images; accepted: a crop_border that '
                                 'leaves at least 32 pixels a side'),
            (blurred, sharp, 100, 'crop_border 100 leaves 0x0'),
    ):
        with pytest.raises(PandaInputError, match=fragment):
            calculate_panda(img, img2, crop_border=crop)


def test_metric_tensors_empty_integer_and_half(bgr_pair):
    from panda_plugin.engine.panda.metric import shared_metric

    metric = shared_metric(device='cpu')
    images = torch.rand(2, 3, 48, 48, generator=torch.Generator().manual_seed(0))
    with pytest.raises(PandaInputError, match=r'restored: an empty batch \(0, 3, 48, 48\); accepted: at least one'):
        metric(images[:0], images[:0])
    with pytest.raises(PandaInputError, match='restored: a torch.uint8 tensor; accepted: a floating-point tensor'):
        metric((images * 255).byte(), images)
    full = torch.ones_like(images)
    full[:, :, :24] = images[:, :, :24]
    single = metric(full * 0.9, full)
    half = metric((full * 0.9).half(), full.half())
    assert half.dtype == torch.float16 and torch.allclose(half.float(), single, atol=0.02)


def test_pyiqa_leaves_the_range_check_to_panda(bgr_pair):
    pyiqa = pytest.importorskip('pyiqa')
    metric = pyiqa.create_metric('panda', device='cpu')
    reference = torch.ones(1, 3, 48, 48, dtype=torch.float16)  # value 1 in half precision
    reference[..., :24, :] = 0.25
    assert float(metric(reference * 0.9, reference)) < 1
    with pytest.raises(PandaInputError, match=r'restored values span \[63.75, 255\]; accepted: \[0, 1\]'):
        metric(reference.float() * 255, reference.float())
    with pytest.raises(PandaInputError, match='an empty batch'):
        metric(reference[:0], reference[:0])


@pytest.mark.parametrize('option, value, fragment', [
    ('--scale', 'inf', 'guidance scale inf; accepted: a finite number > 0'),
    ('--scale', 'nan', 'guidance scale nan'),
    ('--scale', '0', 'guidance scale 0.0'),
    ('--average', '2.5', r'average 2.5; accepted: whole numbers >= 1'),
    ('--average', 'nan', 'average nan'),
    ('--average', '1,inf', 'average inf'),
    ('--lambdas', '0,nan', r'lambda nan; accepted: a number in \[0, 1\]'),
    ('--lambdas', '0,1.5', 'lambda 1.5'),
    ('--degrade', 'noise:inf', "degradation 'noise:inf': its numbers must be finite"),
    ('--degrade', 'blur:nan', "degradation 'blur:nan'"),
    ('--size', '100000', r'--size 100000; accepted: an integer in \[32, 2048\]'),
    ('--seed', '-1', '--seed -1; accepted: an integer >= 0'),
    ('--steps', '1', 'steps 1; accepted: an integer >= 2'),
])
def test_dp_sweep_numbers(tmp_path, capsys, option, value, fragment):
    error = cli_error(['dp-sweep', 'bundled:bench', '--out', tmp_path / 'sweep', option, value], capsys)
    assert __import__('re').search(fragment, error), error
    assert not (tmp_path / 'sweep').exists()
