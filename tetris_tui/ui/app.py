"""The Textual app: keys become commands, trainer events become messages.

Training (or play) runs in a separate process behind a session: one this app
spawned (``TrainingSession``) or one it attached to (``AttachedSession``); this
process never imports torch, stable-baselines3 or the env. A 20 Hz timer
drains a bounded batch of events per tick and posts it to the main screen as
typed messages (``ui/messages.py``); the screen and its widgets handle the view
ones, and status, notices and errors bubble up here. The run's state (what the
status line shows) lives in one reactive, ``run``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen

from tetris_tui import protocol as p
from tetris_tui.config import Config
from tetris_tui.session.spawned import TrainingSession
from tetris_tui.ui.board_keys import BoardKeys
from tetris_tui.ui.messages import (
    ErrorArrived,
    NoticeArrived,
    RunFigures,
    StatusArrived,
    messages_for,
)
from tetris_tui.ui.model_keys import ModelKeys, run_commands
from tetris_tui.ui.preferences import Preferences
from tetris_tui.ui.screens.error import ErrorScreen
from tetris_tui.ui.screens.help import HelpScreen
from tetris_tui.ui.screens.main import MainScreen
from tetris_tui.ui.session_control import (
    DRAIN_MAX,
    SessionControl,
    SessionLike,
    StartableSession,
)
from tetris_tui.ui.widgets.status import IDLE, StatusInfo

__all__ = ["TetrisApp", "SessionLike"]

DRAIN_HZ = 20.0
HISTORY_EPISODES = 1000
RESTARTABLE = {IDLE, *p.TERMINAL_STATES}
BOARD_MESSAGES = {
    p.STARTING: "starting…",
    p.RUNNING: "waiting for frames",
    p.CRASHED: "crashed · s to start",
    p.FINISHED: "finished",
}


class TetrisApp(BoardKeys, ModelKeys, SessionControl, App[None]):
    """Train PPO on Tetris in a worker process and watch it learn (or watch a model play)."""

    CSS_PATH = "app.tcss"
    TITLE = "tetris-tui"

    _speed = Binding.Group("pace", compact=True)
    BINDINGS = [
        # ids: a "keymap" in the preferences file remaps keys by them (ui/preferences.py)
        Binding("s", "start", "start", id="start"),
        Binding("x", "stop", "stop", id="stop"),
        Binding("p", "pause", "pause", id="pause"),
        Binding("w", "watch", "board", id="board"),
        Binding("plus,equals_sign", "faster", "faster", key_display="+", group=_speed, id="faster"),
        Binding("minus", "slower", "slower", key_display="-", group=_speed, id="slower"),
        Binding("r", "replay", "replay best", show=False, id="replay"),
        Binding("m", "models", "models", id="models"),
        Binding("c", "compare", "compare runs", show=False, id="compare"),
        Binding("k", "keep_slot", "keep slot", show=False, id="keep_slot"),
        Binding("f", "follow", "follow", show=False, id="follow"),
        Binding("e", "show_error", "error", show=False, id="error"),
        Binding("d", "detach", "detach", id="detach"),
        Binding("question_mark", "help", "help", key_display="?", id="help"),
        Binding("q", "quit", "quit", id="quit"),
        Binding("ctrl+r", "read_only", "READ-ONLY", id="read_only"),
    ]
    # What a read-only viewer may not do: every key that commands the trainer.
    COMMANDING = frozenset(
        {"start", "stop", "pause", "faster", "slower", "watch", "keep_slot", "models"}
    )

    # The run as the status line shows it: the one place its state lives.
    # repaint=False: the watcher redraws the status bar alone; an app repaint would
    # redraw the whole screen twice a second.
    run_state: reactive[StatusInfo] = reactive(StatusInfo, init=False, repaint=False)

    def __init__(
        self,
        config: Config,
        autostart: bool = False,
        session_factory: Callable[[], SessionLike] = TrainingSession,
        play_model: Path | None = None,
        play_rules: Mapping[str, object] | None = None,
        spawn_session: Callable[[], StartableSession] = TrainingSession,
    ) -> None:
        super().__init__()
        self.preferences = Preferences.load()  # theme, keys, board view, fps, pace, curve
        self.config = config = self.preferences.apply_to(config)
        self.play_model = play_model  # set: a saved model plays; nothing trains
        self.play_rules = play_rules  # set: it plays these rules, not its own
        self.autostart = autostart or play_model is not None
        self.session: SessionLike = session_factory()  # cheap: spawns nothing
        # What `s` swaps in when this app's session cannot start (an ended viewer).
        self.spawn_session = spawn_session
        self._history_pending = self.session.attached  # hold live events until it is shown
        self.view = config.view if config.watch else p.VIEW_OFF
        self.pace = config.pace  # the spectator's; training's speed is never changed here
        self.last_error: p.Error | None = None
        self._starting = False  # session.start() in flight (drain paused)
        self._stopping = False  # session.stop() in flight (drain paused)
        self._quitting = False
        self._stop_requested_at: float | None = None
        self.set_reactive(
            TetrisApp.run_state,
            self._run_info(self.session.state if self.session.attached else IDLE),
        )
        self.main = MainScreen(
            self.run_state,
            self.view != p.VIEW_OFF,
            None if play_model else config,
            self.view,
            self.pace,
        )

    def get_default_screen(self) -> Screen:
        return self.main

    def on_mount(self) -> None:
        self.set_interval(1.0 / DRAIN_HZ, self._tick, name="drain")
        if self.play_model is None:
            self._load_history()
        elif self.autostart:
            self.action_start()

    @property
    def state(self) -> str:
        return self.run_state.state

    @property
    def timesteps(self) -> int:
        return max(self.run_state.timesteps, self.main.timesteps)

    # -- history -----------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="history", exit_on_error=False)
    def _load_history(self) -> None:
        """Read the run's events.jsonl off the event loop, then show it."""
        from tetris_tui.runs.runlog import read_history

        try:
            history = read_history(self.config.run_dir, max_episodes=HISTORY_EPISODES)
        except Exception as exc:  # noqa: BLE001 - history is a convenience
            self.call_from_thread(self.notify, f"history not read: {exc}", severity="warning")
            history = None
        self.call_from_thread(self._show_history, history)

    def _show_history(self, history: Any) -> None:
        if history is not None and (self.state == IDLE or self.session.attached):
            with self.batch_update():
                if self.main.show_history(history) and not self.session.attached:
                    self.main.board_view.set_message("press s to resume")
            if history.episodes:  # live games start after the last one shown
                self.session.shown_history_through(history.episodes[-1].episode)
        self._history_pending = False
        if self.autostart and not self.session.attached:
            self.action_start()

    # -- draining: events become messages ----------------------------------------------
    def _tick(self) -> None:
        """Drain a bounded batch of events and move the spectator's board; never blocks.

        One clock for both: a board frame and the panels then share a repaint.
        """
        if self._starting or self._stopping or self._history_pending:
            self.main.spectator.animate()
            return
        batch = self.session.drain(max_items=DRAIN_MAX)
        if batch:
            self.apply_events(batch)  # the screen animates once it has the batch
        else:
            # Anything held back by its rate limit, with this tick's board frame.
            self.main.flush_panels(with_board=self.main.spectator.animate())
        self._stop_overdue()

    def apply_events(self, batch: Iterable[p.Event]) -> None:
        """Post a drained batch to the main screen as typed messages."""
        for message in messages_for(batch):
            self.main.post_message(message)

    def on_status_arrived(self, message: StatusArrived) -> None:
        event = message.status
        self._set_state(event.state)
        if event.state == p.CRASHED and event.message:
            self.notify(event.message, title="worker crashed", severity="error", timeout=15)
        if event.state in p.TERMINAL_STATES:
            self._stop_requested_at = None

    def on_notice_arrived(self, message: NoticeArrived) -> None:
        timeout = 8 if message.severity == "warning" else 4
        self.notify(message.text, severity=message.severity, timeout=timeout)  # type: ignore[arg-type]

    def on_error_arrived(self, message: ErrorArrived) -> None:
        self.last_error = message.error
        self._set_state(p.CRASHED)
        self.push_screen(
            ErrorScreen(message.error.message, message.error.traceback), self._error_closed
        )

    def _error_closed(self, result: str | None) -> None:
        if result == "start":
            self.action_start()

    def on_run_figures(self, message: RunFigures) -> None:
        """The screen's coalesced figures (timesteps, speed): into the run's state."""
        self.run_state = replace(self.run_state, **message.changes)

    # -- the run's state ---------------------------------------------------------------
    def watch_run_state(self, info: StatusInfo) -> None:
        self.main.status_bar.update_info(info)

    def _set_state(self, state: str) -> None:
        if state == self.state:
            return
        message = BOARD_MESSAGES.get(state, "press s to start")
        if state == p.RUNNING and self.config.fps <= 0:
            message = "frames off (fps 0)"
        self.main.board_view.set_message(message)
        self.run_state = self._run_info(state)
        self.refresh_bindings()

    def _update_status(self) -> None:
        self.run_state = self._run_info(self.state)

    def _run_info(self, state: str) -> StatusInfo:
        """The run's fixed facts and choices, with its live figures kept."""
        play = self.play_model
        current = self.run_state if hasattr(self, "_reactive_run_state") else StatusInfo()
        return replace(
            current,
            run_dir=f"play {play.parent.name}/{play.name}" if play else str(self.config.run_dir),
            state=state,
            total_timesteps=0 if play else self.config.total_timesteps,
            delay=self.config.step_delay,
            watching=self.view != p.VIEW_OFF,
            pace=self.pace,
        )

    def run_config(self) -> Config:
        """The config a start uses: the CLI's, with the board view and pace chosen here."""
        return self.config.replace(view=self.view, pace=self.pace, watch=True)

    # -- actions -----------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out (None) what makes no sense in the current state."""
        busy = self._starting or self._stopping or self._quitting
        active = not busy and self.state in (p.RUNNING, p.PAUSED)
        enabled = {
            "start": not busy and self.state in RESTARTABLE and not self.session.alive,
            "stop": not busy and self.state in (p.STARTING, p.RUNNING, p.PAUSED),
            "pause": active,
            "faster": self.pace_action_enabled("faster"),
            "slower": self.pace_action_enabled("slower"),
            "keep_slot": active and self.play_model is None,
            "models": not busy,
            "show_error": self.last_error is not None,
            "detach": self._trainer_alive() and not busy,
        }.get(action, True)
        if action == "read_only":
            return self.session.read_only  # False hides the footer's READ-ONLY
        if self.session.read_only and action in self.COMMANDING:
            enabled = False
        return True if enabled else None

    def action_pause(self) -> None:
        if self.state == p.RUNNING:
            self.session.send(p.Pause())
            self._set_state(p.PAUSED)
        elif self.state == p.PAUSED:
            self.session.send(p.Resume())
            self._set_state(p.RUNNING)

    def action_follow(self) -> None:
        self.main.episode_log.follow()

    def action_show_error(self) -> None:
        if self.last_error is not None:
            error = self.last_error
            self.push_screen(ErrorScreen(error.message, error.traceback), self._error_closed)

    def action_compare(self) -> None:
        """This run's curve beside others (``a`` there adds runs found as ``ls`` finds them)."""
        from tetris_tui.ui.screens.compare import CompareScreen

        self.push_screen(CompareScreen([self.config.run_dir]))

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.preferences.keymap))

    def action_read_only(self) -> None:
        self.notify("this viewer is read-only: it sees everything and commands nothing")

    # -- command palette ---------------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from run_commands(self)
        yield from super().get_system_commands(screen)
