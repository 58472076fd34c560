"""Work beside the calling thread: graph stages that do not wait for each other run on one
background thread while the calling thread goes on.

On a CPU the region proposers run single-threaded NumPy code, and the region measures and the
network's statistic maps are many small torch operations that gain less from a second torch
thread than from running beside another stage (docs/speed.md). So ``compare`` (and the pyiqa
metric's graphs) encode the pair in the background while the regions are proposed. Then
``compare`` makes the network's region tokens and measures texture in the background while
the calling thread measures fidelity and runs the network's decoder (the metric's graphs: the
other measure in the background, the network after the encoding on the calling thread).

Pairs larger than ``MOST_PIXELS`` stay on the calling thread: the proposer works at a reduced
size, so its share of their time is small, and memory freed by the background thread is not
reused by the calling thread (each thread allocates from its own heap arena), which raised the
peak of a 2048x2048 pair by 0.17 GiB."""
from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache

import torch

from panda_plugin.engine.panda.models.panda_arch import PANDA

#: Largest image (height x width) whose stages run in the background.
MOST_PIXELS = 1024 * 1024


def runs_beside(images: torch.Tensor) -> bool:
    """Whether the stages of a batch of images this size run in the background (``MOST_PIXELS``).

    Args:
        images: Bx3xHxW images.

    Returns:
        True when each image has at most ``MOST_PIXELS`` pixels.
    """
    return images.shape[-2] * images.shape[-1] <= MOST_PIXELS


def in_background(function, *args, threads: int) -> Future:
    """Start ``function(*args)`` on the background thread, without gradients.

    Jobs run one after the other in the order given. Each caller gives a job the same thread
    count every time, so the same inputs always give the same results (reductions may round
    differently with another thread count).

    Args:
        function: What to run.
        *args: Its arguments.
        threads: Torch threads of the job.

    Returns:
        A future of its result.
    """
    return _background().submit(_run, function, args, threads)


@contextmanager
def sharing_threads():
    """Share the calling thread's torch threads with the background for the block: the calling
    thread keeps the larger half (at least one), the background gets the rest (at least one).
    Two stages side by side on one thread each use a CPU's cores better than one stage after
    the other on all of them.

    Yields:
        The background's share, for ``in_background``.
    """
    threads = torch.get_num_threads()
    background = max(1, threads // 2)
    torch.set_num_threads(max(1, threads - background))
    try:
        yield background
    finally:
        torch.set_num_threads(threads)


def encode_in_background(network: PANDA, anchors: torch.Tensor, targets: torch.Tensor) -> Future | None:
    """Start ``network.encode`` on the pair in the background (``in_background``) with one torch
    thread fewer than the calling thread (at least one): the calling thread goes on with a
    single-threaded region proposer.

    Args:
        network: PANDA in eval mode.
        anchors: Bx3xHxW anchor images in [0, 1] on the network's device.
        targets: Bx3xHxW target images.

    Returns:
        A future of the pair's ``PairEncoding`` (for ``PANDA.forward``), or None for images
        larger than ``MOST_PIXELS`` (the network then encodes them itself).
    """
    if not runs_beside(anchors):
        return None
    return in_background(network.encode, anchors, targets, threads=max(1, torch.get_num_threads() - 1))


@lru_cache(maxsize=1)
def _background() -> ThreadPoolExecutor:
    """The background thread, started on first use (in each process: a forked child has none
    of its parent's threads, so it starts its own)."""
    return ThreadPoolExecutor(1, thread_name_prefix='panda-background')


os.register_at_fork(after_in_child=_background.cache_clear)


def _run(function, args: tuple, threads: int):
    """``function(*args)`` without gradients on ``threads`` torch threads (this thread's count is
    restored afterwards)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            return function(*args)
    finally:
        torch.set_num_threads(previous)
