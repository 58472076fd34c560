"""Images as torch tensors: the one conversion from HxWx3 arrays of 0..255 values."""
from __future__ import annotations

import numpy as np
import torch


def rgb8_to_tensor(image: np.ndarray, device=None, dtype: torch.dtype = torch.float32,
                   signed: bool = False) -> torch.Tensor:
    """An HxWx3 image of 0..255 values (uint8 RGB) as a 3xHxW tensor.

    The tensor keeps the image's memory order (channels last); ``.contiguous()`` copies it into
    the usual order.

    Args:
        image: HxWx3 array of values in 0..255.
        device: Torch device. Default: CPU.
        dtype: Floating point type. Default: float32.
        signed: Scale to [-1, 1] (``x / 127.5 - 1``) instead of [0, 1] (``x / 255``).

    Returns:
        3xHxW tensor.
    """
    tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
    if device is not None:
        tensor = tensor.to(device)
    tensor = tensor.to(dtype)
    return tensor / 127.5 - 1 if signed else tensor / 255
