"""A function over tasks in worker processes, results in task order, Ctrl-C handled once.

The workers ignore SIGINT, so Ctrl-C in a terminal (which signals the whole process group)
reaches the parent alone: it stops the workers (``terminate``) and the command prints one
line. Without this, every worker prints its own ``KeyboardInterrupt`` traceback and the pool
can wait on workers that are still busy.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import signal
import threading
from collections.abc import Callable, Iterable, Iterator


def ordered_map(function: Callable, tasks: Iterable, workers: int, start: str = 'fork',
                initializer: Callable | None = None, initargs: tuple = ()) -> Iterator:
    """``map(function, tasks)`` in ``workers`` processes (in this one when ``workers`` is 1).

    Close the iterator (``contextlib.closing``) when stopping early: that stops the workers.

    Args:
        function: A module-level function of one task.
        tasks: The tasks.
        workers: Number of processes.
        start: Start method, ``'fork'`` or ``'spawn'``. Default: ``'fork'``.
        initializer: Called with ``initargs`` in each process first. Default: none.
        initargs: Its arguments.

    Yields:
        The results, in task order.
    """
    if workers == 1:
        if initializer is not None:
            initializer(*initargs)
        yield from map(function, tasks)
        return
    with _ctrl_c_held_back():  # raised inside an at-fork hook, it would be swallowed there
        pool = multiprocessing.get_context(start).Pool(workers, initializer=_worker_start,
                                                       initargs=(initializer, initargs))
    try:
        yield from pool.imap(function, tasks)
        pool.close()
    finally:
        pool.terminate()
        pool.join()


def _worker_start(initializer: Callable | None, initargs: tuple) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if initializer is not None:
        initializer(*initargs)


@contextlib.contextmanager
def _ctrl_c_held_back() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pressed.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pressed:
        signal.raise_signal(signal.SIGINT)  # now handled as it would have been
