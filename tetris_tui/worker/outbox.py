"""One attached viewer's bounded buffer of events, so a slow viewer slows nobody.

Droppable events (board frames, metrics, ...) are latest-wins: one slot per
kind. The rest (games, status, checkpoints, errors) queue in order; when a
viewer falls more than ``limit`` of them behind, they are all dropped and it is
told to ``Resync``: it re-reads the games it missed from events.jsonl. Memory
stays bounded however long a viewer is frozen.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from tetris_tui.protocol import Event, Resync

DEFAULT_LIMIT = 5000


class Outbox:
    """Filled by the trainer (any thread), emptied by the viewer's sender thread."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self._queue: deque[Any] = deque()  # events, or lists of games
        self._queued = 0
        self._latest: dict[str, Event] = {}
        self._resync = False
        self._closed = False
        self._ready = threading.Condition()
        self.dropped = 0

    def offer(self, item: Event | list[Event]) -> None:
        with self._ready:
            if isinstance(item, Event) and item.droppable:
                self._latest[item.kind] = item
            else:
                size = len(item) if isinstance(item, list) else 1
                self._queue.append(item)
                self._queued += size
                if self._queued > self.limit:
                    self.dropped += self._queued
                    self._queue.clear()
                    self._latest.clear()
                    self._queued = 0
                    self._resync = True
            self._ready.notify()

    def take(self, timeout: float = 1.0) -> list[Any]:
        """Everything waiting, in order (droppable ones last); [] after ``timeout``."""
        with self._ready:
            if not self._has_items() and not self._closed:
                self._ready.wait(timeout)
            items: list[Any] = [Resync()] if self._resync else []
            items += self._queue
            items += self._latest.values()
            self._queue.clear()
            self._latest.clear()
            self._queued = 0
            self._resync = False
            return items

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        return self._queued + len(self._latest)

    def _has_items(self) -> bool:
        return bool(self._queue or self._latest or self._resync)
