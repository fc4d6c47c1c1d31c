"""The worker's side of the events queue.

Training never waits for the app (or ``--headless``) that reads this queue: an
app stopped with Ctrl+Z, a stuck SSH session or ``| less`` left unscrolled
once stalled training within minutes, while it waited for room. Now an event
goes straight onto the queue while it has room and nothing waits before it;
otherwise into a bounded ``Outbox``, the same one each attached viewer has
(frames and metrics latest-wins; on overflow games are dropped and the reader
re-reads them from events.jsonl after a ``Resync``; other events are kept).
The outbox moves onto the queue as room appears, at the next event.

Finished games can be held back and sent as one queue item per ``flush()``
(a list of Episode events): early in training several games end every 20 ms,
and one put, one pickle and one write per game were most of what reporting
cost training. Any other event flushes the held games first, so order is kept.
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
import time
from typing import Any

from tetris_tui import faults
from tetris_tui.protocol import Checkpoint, Episode, Evaluation, Event, Status
from tetris_tui.runs.runlog import RunLog
from tetris_tui.worker.outbox import DEFAULT_LIMIT, Outbox

# Evaluations too: a reopened run draws its eval line on the learning curve.
_HISTORY_KINDS = (Episode, Checkpoint, Evaluation, Status)
# At the end, how long the last events may wait for a reader that does not read.
CLOSE_SECONDS = 5.0


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
        # What the queue has no room for yet; one producer at a time keeps the order.
        self.outbox = Outbox(faults.outbox_limit(DEFAULT_LIMIT))
        self._queue_lock = threading.Lock()
        self._noted = False

    def serve(self, server: Any) -> None:
        """Also offer every event to attached viewers (a ``ViewerServer``)."""
        self._server = server
        self._hub_lock = server.lock

    @property
    def dropped(self) -> int:
        """Games dropped for the queue's reader (it reads them back from events.jsonl)."""
        return self.outbox.dropped

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
        self._deliver(event)

    def send_games(self, games: list[Episode]) -> None:
        """The games that ended in one step (held for the next flush when batching)."""
        if self._batch_games:
            self._held.extend(games)
            return
        for game in games:
            self.send(game)

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
        self._deliver(games)

    def pump(self) -> bool:
        """Move what waits in the outbox onto the queue, as far as there is room.
        True when nothing waits."""
        with self._queue_lock:
            return self.outbox.hand_over(self._events.put_nowait, queue.Full)

    def close(self, timeout: float = CLOSE_SECONDS) -> None:
        """Flush, then give a reader ``timeout`` to take the last events; never more.

        A reader that does not read (stopped, stuck) would otherwise keep this
        process from exiting: multiprocessing joins the queue's feeder thread at exit.
        """
        self.flush()
        if self._runlog is not None:
            self._runlog.close()
        deadline = time.monotonic() + timeout
        while not self._ui_gone.is_set() and time.monotonic() < deadline:
            if self.pump() and _taken(self._events):
                return
            time.sleep(0.05)
        # Nobody reads what is still buffered: don't wait for it at exit.
        with contextlib.suppress(AttributeError, OSError, ValueError):
            self._events.cancel_join_thread()

    def _deliver(self, item: Event | list[Episode]) -> None:
        """Onto the queue if it has room and nothing waits before it; else the outbox."""
        if self._ui_gone.is_set():
            return  # nobody reads the queue: viewers got it above
        with self._queue_lock:
            if len(self.outbox) and not self.outbox.hand_over(self._events.put_nowait, queue.Full):
                self.outbox.offer(item)
                self._note_first_drop()
                return
            try:
                self._events.put_nowait(item)
            except queue.Full:
                self.outbox.offer(item)
                self._note_first_drop()

    def _note_first_drop(self) -> None:
        """Say once (in worker.log) that the reader fell behind: it explains a Resync."""
        if self.outbox.dropped and not self._noted:
            self._noted = True
            with contextlib.suppress(Exception):
                print(
                    "the app stopped reading: games are dropped for it and read back "
                    "from events.jsonl; training goes on",
                    file=sys.stderr,
                    flush=True,
                )


def _taken(events: Any) -> bool:
    """Whether the reader has taken everything put on the queue (always, if unknown).

    Only a multiprocessing queue has a feeder thread that exit would wait for."""
    if not hasattr(events, "cancel_join_thread"):
        return True
    try:
        return events.qsize() == 0
    except (NotImplementedError, AttributeError, OSError):
        return True
