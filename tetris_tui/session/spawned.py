"""The UI-side handle on a training worker: start it, talk to it, end it.

It owns the process and both queues. It imports no torch and no env, so the UI
stays light; the worker imports those itself after it is spawned.

The worker never waits for this side to read (``worker/reporter.py``): when
the app stops reading (Ctrl+Z, a stuck terminal, ``| less``) its games are
dropped and a ``Resync`` follows; the missed games are read back from
events.jsonl here (``GameSeam``), so the app still sees every game, once.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import signal
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tetris_tui.command_channel import CommandChannel, StopFlag
from tetris_tui.config import Config
from tetris_tui.proctree import descendants
from tetris_tui.protocol import (
    CRASHED,
    TERMINAL_STATES,
    Command,
    Event,
    Status,
    Stop,
)
from tetris_tui.runs.runlock import RunLock, RunLockedError
from tetris_tui.session.history import GameSeam, last_game_number
from tetris_tui.session.intake import EventIntake, state_after

__all__ = ["TrainingSession", "RunLockedError"]

# Queue items (a batch of games is one); past it the worker keeps events in its
# bounded outbox (worker/outbox.py), which also absorbs bursts.
EVENTS_MAX = 256


class TrainingSession:
    """Start, command, drain and stop one worker process at a time."""

    attached = False  # this app spawned the worker (see AttachedSession for the other kind)
    read_only = False

    def __init__(self) -> None:
        self._process: Any = None
        self._events: Any = None
        self._commands: CommandChannel | None = None
        self._stop_flag: Any = None
        self._lock: RunLock | None = None
        self._ended = True
        self._backlog: list[Event] = []
        # The protocol check and the games' seam (each worker gets its own).
        self._intake = self._new_intake(GameSeam(None))
        self.state = "idle"
        self.exitcode: int | None = None

    # -- life cycle ---------------------------------------------------------------

    def start(self, config: Config) -> None:
        """Spawn a training worker. Raises RunLockedError if another process trains there."""
        from tetris_tui.worker.trainer import worker_entry

        lock = RunLock(config.run_dir)
        # Its games are numbered after every recorded one; a Resync reads them back.
        seam = GameSeam(config.run_dir, last_game_number(config.run_dir))
        self._spawn(worker_entry, (config,), lock, seam)

    def start_play(
        self, config: Config, model_dir: Path, rules: Mapping[str, object] | None = None
    ) -> None:
        """Spawn a play worker: the saved agent plays greedy games; nothing trains.
        ``rules`` (EnvConfig fields) plays it on other rules than its own."""
        from tetris_tui.worker.play_worker import play_entry

        # Played games are not recorded: a Resync has none to read back.
        self._spawn(play_entry, (config, model_dir, dict(rules or {})), None)

    def _new_intake(self, seam: GameSeam) -> EventIntake:
        return EventIntake(seam, "worker")

    def _spawn(
        self, target: Any, args: tuple, lock: RunLock | None, seam: GameSeam | None = None
    ) -> None:
        """Start ``target(*args, events, commands, stop_flag)``; ``seam``: where its
        games are recorded (none: a Resync reads nothing back)."""
        if self.alive:
            raise RuntimeError("a worker is already running")
        self._reap()
        self._intake = self._new_intake(seam or GameSeam(None))
        if lock is not None:
            lock.acquire()
        with _real_stdio():
            context = multiprocessing.get_context("spawn")
            self._events = context.Queue(maxsize=EVENTS_MAX)
            self._commands = CommandChannel(context)
            self._stop_flag = StopFlag(context)
            # The target's module is light: the worker imports torch after the spawn.
            self._process = context.Process(
                target=target,
                args=(*args, self._events, self._commands, self._stop_flag),
                name="tetris-tui-worker",
                daemon=False,  # it may start SubprocVecEnv children of its own
            )
            try:
                self._process.start()
            except BaseException:
                if lock is not None:
                    lock.release()
                raise
            # Only the worker writes the queue. Without our copy of its write end, a
            # worker that dies mid-message leaves us an end of file, not a read
            # that waits forever for the rest.
            with contextlib.suppress(AttributeError, OSError):
                self._events._writer.close()
        self._lock = lock
        self._ended = False
        self.exitcode = None
        self.state = "starting"

    @property
    def alive(self) -> bool:
        # Read from the UI thread while the start thread may be reaping: one
        # read of the reference, and a closed process object counts as gone.
        process = self._process
        try:
            return process is not None and process.is_alive()
        except ValueError:
            return False

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None else None

    def send(self, command: Command) -> None:
        """Queue a command; the worker applies it at its next control tick."""
        if not self.alive:
            return
        if isinstance(command, Stop):
            self._stop_flag.set()  # fast path: seen even while the queue is busy
        with contextlib.suppress(ValueError, OSError, queue.Full):
            self._commands.put(command)

    def drain(self, max_items: int = 500) -> list[Event]:
        """Whatever events are waiting, up to ``max_items``; never blocks.

        A worker that died without a final status (SIGKILL, OOM) yields a
        ``crashed`` status here, once, as soon as its queue is empty.
        """
        if self._events is not None:
            while len(self._backlog) < max_items:
                received = self._receive()
                if not received:
                    break
                self._backlog.extend(received)
        out = self._backlog[:max_items]
        del self._backlog[: len(out)]
        queue_empty = len(out) < max_items and self._events is not None
        if queue_empty and not self._ended and not self.alive:
            out.extend(self._on_exit())
        return out

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the worker to save and exit; escalate to terminate, then kill.

        The queue is drained while waiting (a worker blocked on a full queue
        never exits); drained events are kept for the next ``drain``.
        """
        if self._process is None:
            return
        if self.alive:
            self.send(Stop())
            deadline = time.monotonic() + timeout
            while self.alive and time.monotonic() < deadline:
                self._backlog.extend(self._drain_raw())
                self._process.join(0.05)
            for escalate, grace in ((self._process.terminate, 3.0), (self._process.kill, 3.0)):
                if not self.alive:
                    break
                escalate()
                self._process.join(grace)
                self._backlog.extend(self._drain_raw())
        self._backlog.extend(self._drain_raw())
        if not self._ended:
            self._backlog.extend(self._on_exit())

    def request_stop(self) -> None:
        """Non-blocking stop: the worker saves and exits; ``drain`` reports the end."""
        self.send(Stop())

    def detach(self) -> None:
        """Leave a trainer running and let this process exit without waiting for it.

        The trainer notices its parent is gone and carries on, reachable by
        ``tetris-tui attach``. multiprocessing would join it at exit, so it is
        taken off the list of this process's children.
        """
        if not self.alive:
            return
        with contextlib.suppress(AttributeError, KeyError):
            multiprocessing.process._children.discard(self._process)  # type: ignore[attr-defined]
        for channel in (self._events, getattr(self._commands, "_queue", None)):
            if channel is not None:
                with contextlib.suppress(OSError, ValueError):
                    channel.cancel_join_thread()
                    channel.close()
        self._process = None
        self._events = None
        self._commands = None
        self._ended = True
        self.state = "detached"
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def shown_history_through(self, game: int) -> None:
        """The app showed games up to ``game`` from events.jsonl: later ones come live."""
        self._intake.seam.shown_through(game)

    @property
    def resyncs(self) -> int:
        """Times this reader fell behind and read the dropped games back."""
        return self._intake.seam.resyncs

    # -- internals -------------------------------------------------------------------

    def _drain_raw(self) -> list[Event]:
        events: list[Event] = []
        while received := self._receive():
            events.extend(received)
        return events

    def _receive(self) -> list[Event]:
        """The events of one queue item (the worker sends games in batches); [] if none."""
        try:
            item = self._events.get_nowait()
        except (queue.Empty, OSError, ValueError, EOFError):
            return []
        passed = self._intake.accept(item if isinstance(item, list) else [item])
        if self._intake.refused_now:
            self._stop_mismatched_worker()
        self.state = state_after(passed, self.state)
        return passed

    def _stop_mismatched_worker(self) -> None:
        """A worker from another version is asked to stop (it saves)."""
        with contextlib.suppress(ValueError, OSError, AttributeError):
            self._stop_flag.set()

    def _on_exit(self) -> list[Event]:
        """The worker is gone: free the lock and say how it ended, if it did not."""
        self._process.join(1.0)
        self.exitcode = self._process.exitcode
        self._ended = True
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        if self.state in TERMINAL_STATES:
            return []
        recorded = self._recorded_end()
        if recorded is not None:
            self.state = recorded.state
            return [recorded]
        self.state = CRASHED
        return [Status(CRASHED, 0, f"worker died without a word ({_describe(self.exitcode)})")]

    def _recorded_end(self) -> Status | None:
        """How a worker that exited cleanly ended, from events.jsonl: its last words
        may not have reached a queue that this side did not read in time."""
        run_dir = self._intake.seam.run_dir
        if self.exitcode != 0 or run_dir is None:
            return None
        from tetris_tui.runs.runlog import last_status

        status = last_status(run_dir)
        return status if status is not None and status.state in TERMINAL_STATES else None

    def _reap(self) -> None:
        """Forget a finished worker and its queues before starting another."""
        if self._process is not None and not self._ended:
            self._backlog.extend(self._drain_raw())
            self._backlog.extend(self._on_exit())
        # Forget first, close after: the UI thread reads ``alive`` meanwhile,
        # and a closed process object raises where a missing one does not.
        process, events, commands = self._process, self._events, self._commands
        self._process = self._events = self._commands = None
        if process is not None:
            process.join(0)
            if process.exitcode is not None:
                process.close()
        if events is not None:
            events.close()
            events.join_thread()
        if commands is not None:
            commands.close()

    def __del__(self) -> None:
        # A dropped session must not leave a worker behind.
        try:
            if self.alive:
                self.stop(timeout=5.0)
            elif self._lock is not None:
                self._lock.release()
        except Exception:  # noqa: BLE001 - nothing useful to do at interpreter exit
            pass


@contextlib.contextmanager
def _real_stdio() -> Iterator[None]:
    """Put the real stdout/stderr back while spawning.

    Textual replaces them with objects whose ``fileno()`` is -1; multiprocessing's
    resource tracker, started by the first Queue, would pass that fd on and the
    spawn fails with "bad value(s) in fds_to_keep".
    """
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.__stdout__ or saved[0]
    sys.stderr = sys.__stderr__ or saved[1]
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def _describe(exitcode: int | None) -> str:
    if exitcode is None:
        return "exit code unknown"
    if exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


def worker_pids(session: TrainingSession) -> list[int]:
    """The worker and every process below it (for tests and clean-up checks)."""
    root = session.pid
    if root is None:
        return []
    return [root, *descendants(root)]
