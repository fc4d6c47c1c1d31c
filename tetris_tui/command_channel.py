"""Commands from the UI to a worker: a queue, plus a shared count of what was sent.

Polling a multiprocessing queue is a system call. Done fifty times a second in
the middle of training it cost about 1% of training speed (measured with
``bench/overhead.py``). The shared count is plain memory: the worker compares
it with what it has received, at every step for a fraction of a microsecond,
and touches the queue only when a command is on its way.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from typing import Any

from tetris_tui.protocol import Command

_QUEUE_ERRORS = (queue.Empty, OSError, EOFError, ValueError)


class CommandChannel:
    """Created by the UI side and handed to the worker process at spawn.

    The UI sends from several threads (the event loop, stop and quit workers), and
    ``+= 1`` on shared memory is a read-modify-write: a thread lock on the sending
    side keeps the count exact. The worker only reads the count, so it needs no
    lock (and a multiprocessing lock would cost a system call per step).
    """

    def __init__(self, context: Any) -> None:
        self._queue = context.Queue()
        self._sent = context.RawValue("Q", 0)
        self._received = 0
        self._send_lock = threading.Lock()
        # Commands from inside the worker (attached viewers' threads): no pipe needed.
        self._local: deque[Command] = deque()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_send_lock"]  # a thread lock neither pickles nor means anything there
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._send_lock = threading.Lock()

    # -- UI side -------------------------------------------------------------------

    def put(self, command: Command) -> None:
        with self._send_lock:
            self._queue.put_nowait(command)
            self._sent.value += 1

    def close(self) -> None:
        self._queue.close()
        self._queue.join_thread()

    # -- worker side ---------------------------------------------------------------

    def inject(self, command: Command) -> None:
        """Queue a command from another thread of the worker (deque appends are atomic)."""
        self._local.append(command)

    def pending(self) -> bool:
        """Whether a command was sent that has not been received; no system call."""
        return self._sent.value != self._received or bool(self._local)

    def get(self, timeout: float = 0.0) -> Command | None:
        """The next command, waiting up to ``timeout`` seconds; None if there is none yet.

        A command counted as sent may still be in the sender's feeder thread:
        then this returns None and ``pending()`` stays true until it arrives.
        """
        if self._local:
            return self._local.popleft()
        if self._sent.value == self._received and timeout == 0.0:
            return None  # nothing on the pipe either: no system call
        try:
            command = self._queue.get(timeout=timeout) if timeout else self._queue.get_nowait()
        except _QUEUE_ERRORS:
            return None
        self._received += 1
        return command


class StopFlag:
    """ "Save and stop", from the UI to its worker: one shared byte, no lock.

    A ``multiprocessing.Event`` takes a lock shared by both processes in
    ``is_set()``; a UI killed while it held that lock (inside ``set()``) would
    leave the worker blocked at its next look, never stopping. A byte cannot be
    left held, and setting it is safe anywhere, a signal handler included.
    """

    def __init__(self, context: Any) -> None:
        self._value = context.RawValue("b", 0)

    def set(self) -> None:
        self._value.value = 1

    def is_set(self) -> bool:
        return bool(self._value.value)
