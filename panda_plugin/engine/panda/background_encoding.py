"""The network encodes a pair in a background thread while the calling thread proposes its
regions: the proposers run single-threaded NumPy code, so on a CPU the second core would
otherwise wait for them."""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache

import torch

from panda_plugin.engine.panda.models.panda_arch import PANDA, PairEncoding


def encode_in_background(network: PANDA, anchors: torch.Tensor, targets: torch.Tensor) -> Future:
    """Start ``network.encode`` on the pair in the background thread, with one torch thread
    fewer than the calling thread (at least one) and without gradients.

    Every call encodes on the same thread with the same thread count, so the same pair always
    gets the same encoding (convolutions may round differently with another thread count).

    Args:
        network: PANDA in eval mode.
        anchors: Bx3xHxW anchor images in [0, 1] on the network's device.
        targets: Bx3xHxW target images.

    Returns:
        A future of the pair's ``PairEncoding`` (for ``PANDA.forward``).
    """
    return _background().submit(_encode, network, anchors, targets, max(1, torch.get_num_threads() - 1))


@lru_cache(maxsize=1)
def _background() -> ThreadPoolExecutor:
    """The background thread, started on first use."""
    return ThreadPoolExecutor(1, thread_name_prefix='panda-encode')


def _encode(network: PANDA, anchors: torch.Tensor, targets: torch.Tensor, threads: int) -> PairEncoding:
    """``network.encode`` without gradients on ``threads`` torch threads (this thread's count is
    restored afterwards)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            return network.encode(anchors, targets)
    finally:
        torch.set_num_threads(previous)
