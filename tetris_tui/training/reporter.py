"""The worker's side of the events queue.

Board frames and metrics are "latest wins": a full queue drops them, so a slow
UI never slows training. Everything else (games, status, checkpoints, errors)
is never dropped: it waits for room, unless the UI is gone.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

from tetris_tui.protocol import Checkpoint, Episode, Event, Status
from tetris_tui.training.runlog import RunLog

_HISTORY_KINDS = (Episode, Checkpoint, Status)


class EventSink:
    """Sends events to the UI and records the run's history in events.jsonl."""

    def __init__(self, events: Any, runlog: RunLog | None, ui_gone: threading.Event) -> None:
        self._events = events
        self._runlog = runlog
        self._ui_gone = ui_gone
        self.dropped = 0

    def send(self, event: Event) -> None:
        if self._runlog is not None and isinstance(event, _HISTORY_KINDS):
            self._runlog.append(event)
        if event.droppable:
            try:
                self._events.put_nowait(event)
            except queue.Full:
                self.dropped += 1
            return
        while not self._ui_gone.is_set():
            try:
                self._events.put(event, timeout=0.25)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        if self._runlog is not None:
            self._runlog.close()
        if self._ui_gone.is_set():
            # Nobody will read what is still buffered: don't wait for it at exit.
            self._events.cancel_join_thread()
