"""The worker's side of the events queue.

Board frames and metrics are "latest wins": a full queue drops them, so a slow
UI never slows training. Everything else (games, status, checkpoints, errors)
is never dropped: it waits for room, unless the UI is gone.

Finished games can be held back and sent as one queue item per ``flush()``
(a list of Episode events): early in training several games end every 20 ms,
and one put, one pickle and one write per game were most of what reporting
cost training. Any other event flushes the held games first, so order is kept.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from typing import Any

from tetris_tui.protocol import Checkpoint, Episode, Evaluation, Event, Status
from tetris_tui.runs.runlog import RunLog

# Evaluations too: a reopened run draws its eval line on the learning curve.
_HISTORY_KINDS = (Episode, Checkpoint, Evaluation, Status)


class EventSink:
    """Sends events to the UI and records the run's history in events.jsonl."""

    def __init__(
        self,
        events: Any,
        runlog: RunLog | None,
        ui_gone: threading.Event,
        batch_games: bool = False,
    ) -> None:
        self._events = events
        self._runlog = runlog
        self._ui_gone = ui_gone
        self._batch_games = batch_games
        self._held: list[Episode] = []
        self._server: Any = None
        self._hub_lock: Any = contextlib.nullcontext()
        self.dropped = 0

    def serve(self, server: Any) -> None:
        """Also offer every event to attached viewers (a ``ViewerServer``)."""
        self._server = server
        self._hub_lock = server.lock

    def send(self, event: Event) -> None:
        if self._batch_games and isinstance(event, Episode):
            self._held.append(event)
            return
        self.flush()
        with self._hub_lock:
            if self._runlog is not None and isinstance(event, _HISTORY_KINDS):
                self._runlog.append(event)
            if self._server is not None:
                self._server.publish(event)
        if event.droppable:
            if self._ui_gone.is_set():
                return  # nobody reads the queue: viewers got it above
            try:
                self._events.put_nowait(event)
            except queue.Full:
                self.dropped += 1
            return
        self._put(event)

    def flush(self) -> None:
        """Send the games held back since the last flush, as one queue item."""
        if not self._held:
            return
        games, self._held = self._held, []
        with self._hub_lock:
            if self._runlog is not None:
                self._runlog.append_many(games)
            if self._server is not None:
                self._server.publish(games)
        self._put(games)

    def close(self) -> None:
        self.flush()
        if self._runlog is not None:
            self._runlog.close()
        if self._ui_gone.is_set():
            # Nobody will read what is still buffered: don't wait for it at exit.
            self._events.cancel_join_thread()

    def _put(self, item: Event | list[Episode]) -> None:
        """Wait for room in the queue, unless the UI is gone (a trainer goes on without)."""
        while not self._ui_gone.is_set():
            try:
                self._events.put(item, timeout=0.25)
                return
            except queue.Full:
                continue
