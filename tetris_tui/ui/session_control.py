"""The app's session life cycle: start, stop, quit and detach, off the event loop.

A mixin of ``TetrisApp`` (app.py routes keys and messages; this owns the
session's life). Spawning and stopping can block for seconds, so each runs in
a thread worker and reports back with ``call_from_thread``. A trainer outlives
the app: quitting asks whether to stop it or leave it running, and an app that
ends any other way (a hang-up, an exception) detaches from it. An attached
viewer cannot start a worker; once its trainer has ended, ``s`` (or play from
the models screen) swaps in a new spawned session, as in an app started here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from textual import work

from tetris_tui import protocol as p
from tetris_tui.config import Config
from tetris_tui.runs.finished import run_finished
from tetris_tui.ui.screens.quit import LEAVE, STOP, QuitScreen
from tetris_tui.ui.widgets.status import IDLE

DRAIN_MAX = 500  # events per tick: bounds the work of one tick
STOP_TIMEOUT = 15.0  # session.stop() escalates to terminate/kill after this
STOP_GRACE = 30.0  # after `x`, force session.stop() if the worker has not ended by then


@runtime_checkable
class SessionLike(Protocol):
    """What the app needs to watch and command a worker: ``TrainingSession`` (it
    spawned the trainer) or ``AttachedSession`` (it attached to a live one); tests
    pass fakes. mypy checks the real ones and the fakes against it (``.ci/run``)."""

    attached: bool
    read_only: bool
    state: str

    def send(self, command: p.Command) -> None: ...
    def drain(self, max_items: int = 500) -> list[p.Event]: ...
    def stop(self, timeout: float = 15.0) -> None: ...
    def detach(self) -> None: ...
    def shown_history_through(self, game: int) -> None: ...

    @property
    def alive(self) -> bool: ...


@runtime_checkable
class StartableSession(SessionLike, Protocol):
    """A session that starts workers: ``TrainingSession`` (not ``AttachedSession``)."""

    def start(self, config: Config) -> None: ...
    def start_play(
        self, config: Config, model_dir: Path, rules: Mapping[str, object] | None = None
    ) -> None: ...


class SessionControl:
    """``action_start``, ``action_stop``, ``action_quit``, ``action_detach`` and their threads."""

    session: SessionLike
    spawn_session: Callable[[], StartableSession]  # a new spawned session
    config: Config
    play_model: Any
    play_rules: Any
    state: str
    main: Any
    _starting: bool
    _stopping: bool
    _quitting: bool
    _stop_requested_at: float | None

    if TYPE_CHECKING:  # the rest comes from TetrisApp and textual's App
        notify: Callable[..., None]
        refresh_bindings: Callable[[], None]
        check_action: Callable[[str, tuple[object, ...]], bool | None]
        push_screen: Callable[..., Any]
        exit: Callable[..., None]
        call_from_thread: Callable[..., Any]
        apply_events: Callable[[list[p.Event]], None]
        run_config: Callable[[], Config]
        _set_state: Callable[[str], None]

    def _trainer_alive(self) -> bool:
        return self.session.alive and self.play_model is None

    def _stop_overdue(self) -> None:
        """After ``x``, a worker that has not ended within STOP_GRACE is stopped for real."""
        if (
            self._stop_requested_at is not None
            and time.monotonic() - self._stop_requested_at > STOP_GRACE
            and self.session.alive
        ):
            self._stop_requested_at = None
            self._stopping = True
            self._stop_session(exit_after=False)

    def action_start(self) -> None:
        if not self.check_action("start", ()):
            return
        config = self.config
        finished = None
        if self.play_model is None:
            finished = run_finished(config.run_dir, config.total_timesteps, config.target_lines)
        if finished is not None:  # training it again would only rewrite a finished run
            self.notify(finished, timeout=15)
            return
        session = self._startable_session()
        self._starting = True
        self._set_state(p.STARTING)
        self._start_session(session, self.run_config())

    def _startable_session(self) -> StartableSession:
        """This app's session if it can start a worker; else (a viewer whose trainer
        has ended) a new spawned one, which becomes this app's session."""
        session = self.session
        if not session.attached and isinstance(session, StartableSession):
            return session
        session.detach()
        fresh = self.spawn_session()
        self.session = fresh
        return fresh

    @work(thread=True, exclusive=True, group="session", exit_on_error=False)
    def _start_session(self, session: StartableSession, config: Config) -> None:
        try:
            if self.play_model is not None:
                session.start_play(config, self.play_model, self.play_rules)
            else:
                session.start(config)
        except Exception as exc:  # noqa: BLE001 - RunLockedError and spawn failures
            self.call_from_thread(self._start_done, exc)
        else:
            self.call_from_thread(self._start_done, None)

    def _start_done(self, error: Exception | None) -> None:
        self._starting = False
        if error is not None:
            self._set_state(IDLE)
            self.notify(str(error), title="cannot start", severity="error", timeout=15)
        self.refresh_bindings()
        if self._quitting:
            self._quit_now()

    def action_stop(self) -> None:
        if not self.check_action("stop", ()):
            return
        # Non-blocking: the worker saves and exits; draining goes on and reports it.
        self.session.send(p.Stop())
        self._stop_requested_at = time.monotonic()
        self._set_state(p.STOPPING)

    async def action_quit(self) -> None:
        """While a trainer runs, ask: stop it (save, then quit) or leave it running."""
        if self._quitting:
            self.notify("still stopping… (saving a checkpoint)", timeout=3)
            return
        if self._trainer_alive() and not self._starting:
            if self.session.read_only:
                self.action_detach()
                return
            self.push_screen(QuitScreen(str(self.config.run_dir)), self._quit_answered)
            return
        self._quit_stopping()

    def _quit_answered(self, answer: str | None) -> None:
        if answer == STOP:
            self._quit_stopping()
        elif answer == LEAVE:
            self.action_detach()

    def _quit_stopping(self) -> None:
        self._quitting = True
        self.refresh_bindings()
        if not self._starting:
            self._quit_now()

    def action_detach(self) -> None:
        """Leave the trainer running and quit; ``tetris-tui attach`` comes back to it."""
        if not self.check_action("detach", ()):
            return
        self.session.detach()
        self.exit(message=self._detached_message())

    def _detached_message(self) -> str:
        run_dir = self.config.run_dir
        return f"training goes on; watch it again with: tetris-tui attach --checkpoints {run_dir}"

    def _quit_now(self) -> None:
        if self.session.alive:
            self._set_state(p.STOPPING)
            self.notify("stopping… saving a checkpoint", timeout=STOP_TIMEOUT)
            self._stopping = True
            self._stop_session(exit_after=True)
        else:
            self.exit()

    @work(thread=True, exclusive=True, group="session", exit_on_error=False)
    def _stop_session(self, exit_after: bool) -> None:
        """Blocking stop (Stop, wait, terminate, kill) off the event loop."""
        try:
            self.session.stop(timeout=STOP_TIMEOUT)
        finally:
            self.call_from_thread(self._stop_done, exit_after)

    def _stop_done(self, exit_after: bool) -> None:
        self._stopping = False
        # stop() kept what it drained: show the final checkpoint and status.
        for _ in range(20):
            batch = self.session.drain(max_items=DRAIN_MAX)
            if not batch:
                break
            self.apply_events(batch)
        self.main.flush_panels(force=True)
        if self.state not in p.TERMINAL_STATES:
            self._set_state(p.STOPPED)
        self.refresh_bindings()
        if exit_after:
            self.exit()

    def on_unmount(self) -> None:
        """The app ends (a hang-up, an exception): a trainer goes on, where ``tetris-tui
        ls`` shows it; a play worker has nothing left to show, so it stops."""
        if self._trainer_alive():
            self.session.detach()
        elif self.session.alive:
            self.session.stop(timeout=5.0)
