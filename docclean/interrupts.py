"""Ctrl-C and SIGTERM deferred to a safe point: the first one asks to stop, a second stops at once."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any


@contextmanager
def deferred_interrupts(stop: threading.Event, message: bytes | None = None) -> Iterator[None]:
    """While inside, the first SIGINT or SIGTERM sets ``stop`` (the caller ends at its next safe
    point) and writes ``message``, if any, to stderr; a second one, or one arriving when ``stop``
    is already set, raises KeyboardInterrupt. The previous handlers come back on exit. Off the
    main thread no handler can be installed, and interrupts arrive as they always do."""
    try:
        fd: int | None = None if message is None else sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # captured stderr (tests) has no descriptor
        fd = None

    def handler(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        if fd is not None and message is not None:  # os.write: safe in a handler, unlike print
            with suppress(OSError):
                os.write(fd, message)

    previous: dict[signal.Signals, Any] = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread (e.g. under a test runner's thread)
        pass
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
