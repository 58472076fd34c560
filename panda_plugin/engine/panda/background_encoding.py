"""The network encodes a pair in a background thread while the calling thread proposes its
regions: the proposers run single-threaded NumPy code, so on a CPU the second core would
otherwise wait for them.

Pairs larger than ``MOST_PIXELS`` are encoded in the calling thread instead: the proposer works
at a reduced size, so its share of their time is small, and memory freed by the background
thread is not reused by the calling thread (each thread allocates from its own heap arena),
which raised the peak of a 2048x2048 pair by 0.17 GiB."""
from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache

import torch

from panda_plugin.engine.panda.models.panda_arch import PANDA, PairEncoding


#: Largest image (height x width) encoded in the background.
MOST_PIXELS = 1024 * 1024


def encode_in_background(network: PANDA, anchors: torch.Tensor, targets: torch.Tensor) -> Future | None:
    """Start ``network.encode`` on the pair in the background thread, with one torch thread
    fewer than the calling thread (at least one) and without gradients.

    Every pair of a size is encoded on the same thread with the same thread count, so the same
    pair always gets the same encoding (convolutions may round differently with another thread
    count).

    Args:
        network: PANDA in eval mode.
        anchors: Bx3xHxW anchor images in [0, 1] on the network's device.
        targets: Bx3xHxW target images.

    Returns:
        A future of the pair's ``PairEncoding`` (for ``PANDA.forward``), or None for images
        larger than ``MOST_PIXELS`` (the network then encodes them itself).
    """
    if anchors.shape[-2] * anchors.shape[-1] > MOST_PIXELS:
        return None
    return _background().submit(_encode, network, anchors, targets, max(1, torch.get_num_threads() - 1))


@lru_cache(maxsize=1)
def _background() -> ThreadPoolExecutor:
    """The background thread, started on first use (in each process: a forked child has none
    of its parent's threads, so it starts its own)."""
    return ThreadPoolExecutor(1, thread_name_prefix='panda-encode')


os.register_at_fork(after_in_child=_background.cache_clear)


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
