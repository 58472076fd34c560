"""BasicSR metric ``calculate_panda``."""
from __future__ import annotations

import numpy as np
import torch

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.metric import shared_metric
from panda_plugin.engine.weights import DEFAULT_WEIGHTS

#: Option keys BasicSR adds to every metric's options.
_BASICSR_METRIC_KEYS = ('better',)


def calculate_panda(img, img2, crop_border, input_order='HWC', test_y_channel=False,
                    weights=DEFAULT_WEIGHTS, segmenter='superpixel', **kwargs) -> float:
    """PANDA score of a restored image against its ground truth, BasicSR's way.

    Args:
        img: Restored image, uint8 BGR (as BasicSR's ``tensor2img`` gives it), HWC or CHW.
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
    unknown = sorted(set(kwargs) - set(_BASICSR_METRIC_KEYS))
    if unknown:
        raise PandaInputError(f'unknown option(s) {", ".join(unknown)} for calculate_panda; accepted: '
                              'crop_border, input_order, test_y_channel, weights, segmenter, better')
    from basicsr.metrics.metric_util import reorder_image, to_y_channel

    if input_order not in ('HWC', 'CHW'):
        raise PandaInputError(f"input_order {input_order!r}; accepted: 'HWC', 'CHW'")
    if img.shape != img2.shape:
        raise PandaInputError(f'image shapes differ: {img.shape} and {img2.shape}')
    pair = []
    for image in (img, img2):
        image = reorder_image(image, input_order=input_order).astype(np.float32)
        if crop_border:
            image = image[crop_border:-crop_border, crop_border:-crop_border]
        if test_y_channel:
            image = np.repeat(to_y_channel(image), 3, axis=2)
        elif image.shape[2] == 3:
            image = image[..., ::-1]
        pair.append(torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None] / 255)
    metric = shared_metric(weights, segmenter)
    device = next(metric.parameters()).device
    with torch.no_grad():
        return float(metric(pair[0].clamp(0, 1).to(device), pair[1].clamp(0, 1).to(device))[0])
