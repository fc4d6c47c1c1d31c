"""A reader's bounded buffer of events, so a slow reader slows nobody.

One per attached viewer, and one for the app that spawned the trainer (or
``--headless``) behind its queue. Droppable events (board frames, metrics, ...)
are latest-wins: one slot per kind. The rest queue in order. When a reader
falls more than ``limit`` of them behind, only the *games* are dropped (they
are in events.jsonl) and it is told to ``Resync``: it re-reads the games it
missed from there. The other events are kept, in order, each kind bounded: the
newest status, the newest ``KEEP_PER_KIND`` checkpoints, evaluations, notes and
spectator games, and every error (a reader must see a crash). Memory stays
bounded however long a reader is frozen.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from tetris_tui.protocol import Episode, Error, Event, Resync, Status

DEFAULT_LIMIT = 5000
# Non-game events of one kind kept through an overflow (the newest ones).
KEEP_PER_KIND = 32


class Outbox:
    """Filled by the trainer (any thread), emptied by the reader's side."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self._queue: deque[Any] = deque()  # events, or lists of games
        self._queued = 0
        self._latest: dict[str, Event] = {}
        self._resync = False
        self._closed = False
        self._ready = threading.Condition()
        self.dropped = 0  # games dropped (the reader reads them back)

    def offer(self, item: Event | list[Event]) -> None:
        with self._ready:
            if isinstance(item, Event) and item.droppable:
                self._latest[item.kind] = item
            else:
                self._queue.append(item)
                self._queued += _size(item)
                if self._queued > self.limit:
                    self._compact()
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

    def hand_over(self, put: Callable[[Any], None], full: type[BaseException]) -> bool:
        """Give waiting items to ``put`` one by one, in ``take``'s order, until it raises
        ``full``; the rest stay. True when nothing is left."""
        with self._ready:
            try:
                if self._resync:
                    put(Resync())
                    self._resync = False
                while self._queue:
                    put(self._queue[0])
                    self._queued -= _size(self._queue.popleft())
                while self._latest:
                    kind = next(iter(self._latest))
                    put(self._latest[kind])
                    del self._latest[kind]
            except full:
                return False
            return True

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        return self._queued + len(self._latest) + int(self._resync)

    def _has_items(self) -> bool:
        return bool(self._queue or self._latest or self._resync)

    def _compact(self) -> None:
        """Drop the games (the reader reads them back) and thin the rest, keeping order."""
        kept: list[Any] = []
        seen: Counter[str] = Counter()
        for item in reversed(self._queue):  # newest first: the newest of a kind are kept
            if _is_games(item):
                self.dropped += _size(item)
                self._resync = True
                continue
            kind = item.kind
            seen[kind] += 1
            if isinstance(item, Error) or seen[kind] <= _keep(item):
                kept.append(item)
        kept.reverse()
        self._queue = deque(kept)
        self._queued = len(kept)


def _is_games(item: Any) -> bool:
    return isinstance(item, (Episode, list))


def _size(item: Any) -> int:
    return len(item) if isinstance(item, list) else 1


def _keep(event: Event) -> int:
    """How many of this kind survive an overflow (errors: all of them)."""
    return 1 if isinstance(event, Status) else KEEP_PER_KIND
