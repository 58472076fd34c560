"""BasicSR metric ``calculate_panda``."""
from __future__ import annotations

import numpy as np
import torch

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.options import check_choice, check_number, reject_unknown
from panda_plugin.engine.image_io import MIN_SIDE
from panda_plugin.engine.panda.metric import shared_metric
from panda_plugin.engine.panda.weights import DEFAULT_WEIGHTS
from panda_plugin.engine.tensors import rgb8_to_tensor

#: Option keys BasicSR adds to every metric's options.
_BASICSR_METRIC_KEYS = ('better',)


def calculate_panda(img, img2, crop_border, input_order='HWC', test_y_channel=False,
                    weights=DEFAULT_WEIGHTS, segmenter='superpixel', **kwargs) -> float:
    """PANDA score of a restored image against its ground truth, BasicSR's way.

    Args:
        img: Restored image, uint8 BGR (as BasicSR's ``tensor2img`` gives it) or float BGR with
            values in [0, 255], HWC or CHW; a float image in [0, 1] is refused (``check_basicsr_range``).
        img2: Ground truth, likewise.
        crop_border: Pixels cropped from each edge before scoring.
        input_order: ``'HWC'`` or ``'CHW'``. Default: ``'HWC'``.
        test_y_channel: Score the luma (Y of YCbCr, repeated to three channels) instead of colour.
        weights: Shipped weights name or weights file. Default: ``'panda-tiny'``.
        segmenter: Region proposer spec. Default: ``'superpixel'``.

    Returns:
        The score in [0, 1] (higher is better): the reference-mode score of the pyiqa metric,
        exactly 1 when the two images are identical.
    """
    check_calculate_panda_options('calculate_panda', {'crop_border': crop_border, 'input_order': input_order, **kwargs})
    from basicsr.metrics.metric_util import reorder_image, to_y_channel

    if img.shape != img2.shape:
        raise PandaInputError(f'image shapes differ: {img.shape} and {img2.shape}')
    check_basicsr_range(img, img2)
    pair = []
    for image in (img, img2):
        image = reorder_image(image, input_order=input_order).astype(np.float32)
        height, width = image.shape[:2]
        if min(height, width) - 2 * crop_border < MIN_SIDE:
            raise PandaInputError(f'crop_border {crop_border} leaves {max(height - 2 * crop_border, 0)}x'
                                  f'{max(width - 2 * crop_border, 0)} of the {height}x{width} images; accepted: a '
                                  f'crop_border that leaves at least {MIN_SIDE} pixels a side')
        if crop_border:
            image = image[crop_border:-crop_border, crop_border:-crop_border]
        if test_y_channel:
            image = np.repeat(to_y_channel(image), 3, axis=2)
        elif image.shape[2] == 3:
            image = image[..., ::-1]
        pair.append(rgb8_to_tensor(image)[None])
    metric = shared_metric(weights, segmenter)
    device = next(metric.parameters()).device
    with torch.no_grad():
        return float(metric(pair[0].clamp(0, 1).to(device), pair[1].clamp(0, 1).to(device))[0])


def check_basicsr_range(*images) -> None:
    """Refuse images outside BasicSR's metric convention: uint8, or float with values in [0, 255].

    A float image whose values all lie in [0, 1] is refused rather than read as nearly black
    (BasicSR's ``tensor2img`` gives uint8; ``img2tensor`` outputs in [0, 1] must be multiplied by 255).

    Args:
        *images: The arrays given to the metric.
    """
    for image in images:
        image = np.asarray(image)
        if image.size == 0:
            raise PandaInputError(f'an empty image {image.shape}; accepted: HxWx3 (or 3xHxW) images')
        if image.dtype != np.uint8 and not np.issubdtype(image.dtype, np.floating):
            raise PandaInputError(f'images of dtype {image.dtype}; accepted: uint8, or float with values in '
                                  '[0, 255] (BasicSR\'s metric convention)')
    floats = [np.asarray(image) for image in images if np.asarray(image).dtype != np.uint8]
    if not floats:
        return
    if not all(np.isfinite(i).all() for i in floats):
        raise PandaInputError("float images hold NaN or infinite values; accepted: finite values in [0, 255] "
                              "(BasicSR's metric convention)")
    low, high = min(float(i.min()) for i in floats), max(float(i.max()) for i in floats)
    if low < -0.5 or high > 255.5:
        raise PandaInputError(f'float image values span [{low:.4g}, {high:.4g}]; accepted: finite values in '
                              "[0, 255] (BasicSR's metric convention)")
    if 0 < high <= 1:
        raise PandaInputError(f'float image values span [{low:.4g}, {high:.4g}], the [0, 1] range; accepted: '
                              "uint8 or float images in [0, 255] (BasicSR's metric convention: multiply by 255)")


def check_calculate_panda_options(where: str, options: dict) -> None:
    """Refuse unknown or ill-typed ``calculate_panda`` options.

    Args:
        where: The option block, e.g. ``'val.metrics.panda'``.
        options: The block without ``type``.
    """
    reject_unknown(where, options, ('crop_border', 'input_order', 'test_y_channel', 'weights', 'segmenter',
                                    *_BASICSR_METRIC_KEYS))
    if 'crop_border' in options:
        check_number(where, 'crop_border', options['crop_border'], minimum=0, integer=True)
    if 'input_order' in options:
        check_choice(where, 'input_order', options['input_order'], ('HWC', 'CHW'))
    if 'better' in options:
        check_choice(where, 'better', options['better'], ('higher', 'lower'))
