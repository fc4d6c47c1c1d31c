"""What a viewer received and its app has not drained yet: bounded, like the trainer's outbox.

A viewer's reader thread keeps reading while the app's loop is busy or slow;
without a bound its memory would grow with the trainer's speed. Past ``limit``
events, the same rules as the trainer's side apply: frames and metrics are
latest-wins (the newest of each kind is kept), status, checkpoints, errors and
the rest are never dropped, and games are dropped for a ``Resync``, which the
session answers by reading them back from events.jsonl.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from tetris_tui.protocol import Episode, Event, Resync

INBOX_LIMIT = 20_000  # events; a few MB at most
CHUNK = 256  # events handed out per ``get``


class Inbox:
    """Filled by the reader thread, emptied by the app's drain (any threads)."""

    def __init__(self, limit: int = INBOX_LIMIT) -> None:
        self.limit = limit
        self._events: deque[Any] = deque()
        self._lock = threading.Lock()
        self.dropped = 0  # games and frames dropped here (games come back by Resync)

    def put(self, message: Any) -> None:
        """One message from the trainer: an event, or a list of events and batches of
        games (lists themselves), kept here one event per slot."""
        with self._lock:
            for item in message if isinstance(message, list) else [message]:
                if isinstance(item, list):
                    self._events.extend(item)
                else:
                    self._events.append(item)
            if len(self._events) > self.limit:
                self._compact()

    def get(self) -> list[Any] | None:
        """The oldest events (up to ``CHUNK``), or None when nothing waits."""
        with self._lock:
            if not self._events:
                return None
            return [self._events.popleft() for _ in range(min(CHUNK, len(self._events)))]

    @property
    def waiting(self) -> int:
        return len(self._events)

    def _compact(self) -> None:
        """Drop every game (one Resync takes their place) and all but the newest
        droppable event of each kind; keep the rest, in order."""
        newest: dict[str, int] = {}
        for index, event in enumerate(self._events):
            if isinstance(event, Event) and event.droppable:
                newest[event.kind] = index
        kept: deque[Any] = deque()
        resync_placed = False
        for index, event in enumerate(self._events):
            if isinstance(event, Episode):
                if not resync_placed:
                    kept.append(Resync())
                    resync_placed = True
                continue
            if isinstance(event, Event) and event.droppable and newest[event.kind] != index:
                continue
            kept.append(event)
        self.dropped += len(self._events) - len(kept)
        self._events = kept
