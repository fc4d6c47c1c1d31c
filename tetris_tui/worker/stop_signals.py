"""Signals that ask a worker process to stop, caught without taking any lock.

A Python signal handler runs in the main thread between two bytecodes, which
may be inside a lock: a ``multiprocessing.Event``'s condition (``wait``,
``is_set``), a queue's lock. A handler that takes the same lock waits for
itself forever. That is what ``kill -TERM -- -PGID`` did (3 times out of 3,
issue 20): the spectator's handler called ``stop.set()`` while its main thread
was in ``stop.wait()``, and the trainer then blocked on the same Event.

So a handler here only stores a plain attribute. The interpreter's C-level
handler also writes the signal's number to a pipe (``signal.set_wakeup_fd``) at
once, even while the main thread is blocked: a thread (``relay_to``) or a
``select`` reads it and acts in ordinary code, where taking a lock is safe.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from typing import Any


class StopSignals:
    """Catch ``signums`` in the main thread: a plain flag, and a byte on ``fd``."""

    def __init__(self, signums: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT)) -> None:
        self.signums = frozenset(int(s) for s in signums)
        self.caught: int | None = None  # the first stop signal; set by the handler only
        self.fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)  # the C handler must never block on it
        signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        for signum in signums:
            signal.signal(signum, self._note)

    def _note(self, signum: int, _frame: Any) -> None:
        """The handler: one attribute store, no lock, no I/O."""
        if self.caught is None:
            self.caught = signum

    def relay_to(self, flag: Any) -> None:
        """Set ``flag`` (anything with ``set()``) from a thread when a stop signal arrives."""

        def relay() -> None:
            while True:
                try:
                    data = os.read(self.fd, 64)
                except InterruptedError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                if self.signums.intersection(data):
                    with contextlib.suppress(Exception):
                        flag.set()

        threading.Thread(target=relay, name="stop-signals", daemon=True).start()
