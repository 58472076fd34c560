"""Regions proposed while the network encodes the pair: the proposers run single-threaded
NumPy code, so on a CPU the second core would otherwise wait for them."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
import torch

from panda_plugin.engine.panda.models.panda_arch import PANDA, PairEncoding


def regions_while_encoding(propose, reference: np.ndarray, network: PANDA, anchors: torch.Tensor,
                           targets: torch.Tensor) -> tuple[np.ndarray, PairEncoding]:
    """Propose the reference's regions on this thread while a background thread runs
    ``network.encode`` on the pair with one torch thread fewer than this one (at least one).

    Args:
        propose: Region proposer (``image -> label map``).
        reference: HxWx3 uint8 RGB reference the regions come from.
        network: PANDA in eval mode.
        anchors: Bx3xHxW anchor images in [0, 1] on the network's device.
        targets: Bx3xHxW target images.

    Returns:
        ``(label map, encoding)``: the proposer's label map and the pair's encoding for
        ``PANDA.forward``.
    """
    pending = _background().submit(_encode, network, anchors, targets, max(1, torch.get_num_threads() - 1))
    label_map = propose(reference)
    return label_map, pending.result()


@lru_cache(maxsize=1)
def _background() -> ThreadPoolExecutor:
    """The background thread, started on first use."""
    return ThreadPoolExecutor(1, thread_name_prefix='panda-encode')


def _encode(network: PANDA, anchors: torch.Tensor, targets: torch.Tensor, threads: int) -> PairEncoding:
    """``network.encode`` without gradients on ``threads`` torch threads (the thread count of
    the calling thread is restored afterwards)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            return network.encode(anchors, targets)
    finally:
        torch.set_num_threads(previous)
