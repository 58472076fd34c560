"""Ctrl-C for the ``panda`` commands: one press stops, presses right after it are the same stop."""
from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator

REPEAT_SECONDS = 2.0


@contextlib.contextmanager
def one_stop_per_press() -> Iterator[None]:
    """Raise ``KeyboardInterrupt`` on Ctrl-C, but not again within ``REPEAT_SECONDS``.

    A second press right after the first must not cut short the clean-up or the command's last
    line; a press after that stops again (the first can be lost inside a finalizer). Once the
    interrupt leaves this block, further presses are ignored while the command exits.

    Yields:
        Nothing; the handler is in place inside the block (on the main thread only).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    last = [float('-inf')]

    def stop(signum, frame) -> None:
        now = time.monotonic()
        if now - last[0] >= REPEAT_SECONDS:
            last[0] = now
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, stop)
    interrupted = False
    try:
        yield
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN if interrupted else previous)
