"""The UI side of a trainer it did not start: the same interface as TrainingSession.

Events arrive over the trainer's socket (``session/client.py``) instead of a
multiprocessing queue; a reader thread keeps them until ``drain``. Games are
numbered, so the seam with the history the app read from events.jsonl is
exact: ``attach`` returns once the trainer has subscribed us (its Hello is
here), games at or below the last one shown are dropped, and when the trainer
says ``Resync`` (this viewer fell too far behind) the missed ones are read
back from events.jsonl. What waits here is bounded too (``Inbox``): an app
that does not drain loses frames and games, never a status, and reads the
games back the same way. Once its trainer has ended, the app starts a trainer
of its own with a new spawned session (``ui/session_control.py``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from tetris_tui.protocol import (
    CRASHED,
    TERMINAL_STATES,
    Command,
    Event,
    Status,
    Stop,
)
from tetris_tui.runs.trainers import TrainerInfo
from tetris_tui.session.client import AttachError, connect
from tetris_tui.session.history import GameSeam
from tetris_tui.session.inbox import INBOX_LIMIT, Inbox
from tetris_tui.session.intake import EventIntake, state_after

__all__ = ["AttachedSession", "AttachError"]


class AttachedSession:
    """A viewer of a live trainer; ``read_only`` ones never send a command."""

    attached = True

    def __init__(
        self, run_dir: Path, read_only: bool = False, inbox_limit: int = INBOX_LIMIT
    ) -> None:
        self.run_dir = run_dir
        self.read_only = read_only
        self.state = "idle"
        self.exitcode: int | None = None
        self._connection: Any = None
        self.card: TrainerInfo | None = None
        self._pid: int | None = None
        self._incoming = Inbox(inbox_limit)
        self._backlog: list[Event] = []
        self._send_lock = threading.Lock()
        self._closed = threading.Event()
        self._ended = True
        # The protocol check; the highest game passed on (history included), and a
        # Resync reads back the rest.
        self._intake = EventIntake(GameSeam(run_dir), "trainer")

    # -- life cycle ---------------------------------------------------------------

    def attach(self) -> None:
        """Connect, and return once subscribed (the Hello is in); AttachError in one
        line when it cannot."""
        self._connection, card, first = connect(self.run_dir, self.read_only)
        self.card = card
        self._pid = card.pid
        self.state = card.state
        self._ended = False
        self._closed.clear()
        self._incoming.put(first)
        threading.Thread(target=self._receive, name="attach-recv", daemon=True).start()

    def shown_history_through(self, game: int) -> None:
        """The app showed games up to ``game`` from events.jsonl: later ones come live."""
        self._intake.seam.shown_through(game)

    @property
    def resyncs(self) -> int:
        """Times the trainer dropped events for us and we read the games back."""
        return self._intake.seam.resyncs

    @property
    def alive(self) -> bool:
        return not self._ended

    @property
    def pid(self) -> int | None:
        return self._pid

    def send(self, command: Command) -> None:
        if self.read_only or self._ended or self._connection is None:
            return
        with self._send_lock, contextlib.suppress(OSError, ValueError):
            self._connection.send(command)

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the trainer to save and end, and wait for it; detach if read-only."""
        if self._ended:
            return
        if self.read_only:
            self.detach()
            return
        self.send(Stop())
        deadline = time.monotonic() + timeout
        while not self._over() and time.monotonic() < deadline:
            self._backlog.extend(self._take_all())
            time.sleep(0.05)
        if not self._over() and self._pid is not None:
            with contextlib.suppress(OSError):
                os.kill(self._pid, signal.SIGTERM)  # it saves on SIGTERM too
        self.detach()

    def _over(self) -> bool:
        """The trainer said how it ended, or hung up with nothing left to read."""
        return (
            self._ended
            or self.state in TERMINAL_STATES
            or (self._closed.is_set() and not self._incoming.waiting)
        )

    def detach(self) -> None:
        """Hang up; the trainer goes on."""
        self._closed.set()
        if self._connection is not None:
            with contextlib.suppress(OSError):
                self._connection.close()
        self._ended = True

    # -- events -------------------------------------------------------------------

    def drain(self, max_items: int = 500) -> list[Event]:
        while len(self._backlog) < max_items and (item := self._incoming.get()) is not None:
            self._backlog.extend(self._accept(item))
        out = self._backlog[:max_items]
        del self._backlog[: len(out)]
        if not out and self._closed.is_set() and not self._incoming.waiting and not self._ended:
            out = self._on_hang_up()
        return out

    def _take_all(self) -> list[Event]:
        events: list[Event] = []
        while (item := self._incoming.get()) is not None:
            events.extend(self._accept(item))
        return events

    def _receive(self) -> None:
        """Reader thread: keep whatever the trainer sends until the app drains it."""
        while not self._closed.is_set():
            try:
                items = self._connection.recv()
            except (OSError, EOFError, ValueError, TypeError):
                break  # hung up (TypeError: the connection was closed under the read)
            self._incoming.put(items)
        self._closed.set()

    def _accept(self, items: list[Any]) -> list[Event]:
        """Check the protocol, drop games already shown, read back what was dropped."""
        flat = [event for item in items for event in (item if isinstance(item, list) else [item])]
        events = self._intake.accept(flat)
        if self._intake.refused_now:
            self.detach()  # what it sends would be misread
        self.state = state_after(events, self.state)
        return events

    def _on_hang_up(self) -> list[Event]:
        self._ended = True
        if self.state in TERMINAL_STATES:
            return []
        self.state = CRASHED
        return [Status(CRASHED, 0, "the trainer hung up without a word")]
