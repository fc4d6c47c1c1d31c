"""The Textual app: routes worker events to the screen and keys to worker commands.

Training (or play) runs in a separate process owned by a ``TrainingSession``;
this process never imports torch, stable-baselines3 or the env. A 20 Hz timer
drains a bounded batch of events per tick inside one ``batch_update()``; the
main screen draws the view events and hands status, checkpoints and errors back
here. Anything that can block (spawning, stopping) runs in a thread worker, so
the event loop never stalls.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from tetris_tui import protocol as p
from tetris_tui.config import Config
from tetris_tui.training.checkpoints import finished_at, finished_message
from tetris_tui.training.session import TrainingSession
from tetris_tui.ui.board_keys import BoardKeys
from tetris_tui.ui.screens.error import ErrorScreen
from tetris_tui.ui.screens.help import HelpScreen
from tetris_tui.ui.screens.main import MainScreen
from tetris_tui.ui.screens.quit import LEAVE, STOP, QuitScreen
from tetris_tui.ui.widgets.status import IDLE, StatusInfo

DRAIN_HZ = 20.0
DRAIN_MAX = 500  # events per tick: bounds the work of one tick
STOP_TIMEOUT = 15.0  # session.stop() escalates to terminate/kill after this
STOP_GRACE = 30.0  # after `x`, force session.stop() if the worker has not ended by then
HISTORY_EPISODES = 1000
RESTARTABLE = {IDLE, *p.TERMINAL_STATES}
BOARD_MESSAGES = {
    p.STARTING: "starting…",
    p.RUNNING: "waiting for frames",
    p.CRASHED: "crashed · s to start",
    p.FINISHED: "finished",
}


class SessionLike(Protocol):
    """What the app needs from a session: ``TrainingSession`` (it spawned the trainer)
    or ``AttachedSession`` (it attached to a live one); tests pass a fake."""

    attached: bool
    read_only: bool
    state: str

    def start(self, config: Config) -> None: ...
    def send(self, command: p.Command) -> None: ...
    def drain(self, max_items: int = 500) -> list[p.Event]: ...
    def stop(self, timeout: float = 15.0) -> None: ...
    def detach(self) -> None: ...
    def shown_history_through(self, game: int) -> None: ...

    @property
    def alive(self) -> bool: ...


class TetrisApp(BoardKeys, App[None]):
    """Train PPO on Tetris in a worker process and watch it learn (or watch a model play)."""

    CSS_PATH = "app.tcss"
    TITLE = "tetris-tui"

    _speed = Binding.Group("pace", compact=True)
    BINDINGS = [
        Binding("s", "start", "start"),
        Binding("x", "stop", "stop"),
        Binding("p", "pause", "pause"),
        Binding("w", "watch", "board"),
        Binding("plus,equals_sign", "faster", "faster", key_display="+", group=_speed),
        Binding("minus", "slower", "slower", key_display="-", group=_speed),
        Binding("r", "replay", "replay best", show=False),
        Binding("m", "models", "models"),
        Binding("k", "keep_slot", "keep slot", show=False),
        Binding("f", "follow", "follow", show=False),
        Binding("e", "show_error", "error", show=False),
        Binding("d", "detach", "detach"),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("q", "quit", "quit"),
        Binding("ctrl+r", "read_only", "READ-ONLY"),
    ]
    # What a read-only viewer may not do: every key that commands the trainer.
    COMMANDING = frozenset(
        {"start", "stop", "pause", "faster", "slower", "watch", "keep_slot", "models"}
    )

    def __init__(
        self,
        config: Config,
        autostart: bool = False,
        session_factory: Callable[[], SessionLike] = TrainingSession,
        play_model: Path | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.play_model = play_model  # set: a saved model plays; nothing trains
        self.autostart = autostart or play_model is not None
        self.session: SessionLike = session_factory()  # cheap: spawns nothing
        self.state = self.session.state if self.session.attached else IDLE
        self._history_pending = self.session.attached  # hold live events until it is shown
        self.view = config.view if config.watch else p.VIEW_OFF
        self.pace = config.pace  # the spectator's; training's speed is never changed here
        self.last_error: p.Error | None = None
        self._starting = False  # session.start() in flight (drain paused)
        self._stopping = False  # session.stop() in flight (drain paused)
        self._quitting = False
        self._stop_requested_at: float | None = None
        self.main = MainScreen(
            self._status_info(),
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
    def timesteps(self) -> int:
        return self.main.timesteps

    # -- history -----------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="history", exit_on_error=False)
    def _load_history(self) -> None:
        """Read the run's events.jsonl off the event loop, then show it."""
        from tetris_tui.training.runlog import read_history

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

    # -- draining ----------------------------------------------------------------------
    def _tick(self) -> None:
        """Drain a bounded batch of events; never blocks."""
        if self._starting or self._stopping or self._history_pending:
            return
        batch = self.session.drain(max_items=DRAIN_MAX)
        if batch:
            self.apply_events(batch)
        else:
            self.main.flush_panels(with_board=False)  # anything held back by its rate limit
        if (
            self._stop_requested_at is not None
            and time.monotonic() - self._stop_requested_at > STOP_GRACE
            and self.session.alive
        ):
            self._stop_requested_at = None
            self._stopping = True
            self._stop_session(exit_after=False)

    def apply_events(self, batch: Iterable[p.Event]) -> None:
        """Route a batch: the screen draws what it can, the rest is handled here."""
        with self.batch_update():
            for event in self.main.route(batch):
                if isinstance(event, p.Status):
                    self._on_status(event)
                elif isinstance(event, p.Checkpoint):
                    note = self.main.show_checkpoint(event)
                    if note:
                        self.notify(note, title="checkpoint", timeout=4)
                elif isinstance(event, p.Evaluation):
                    text = f"{event.games} greedy games: mean {event.lines_mean:.1f} lines"
                    self.notify(text, title="evaluation", timeout=4)
                elif isinstance(event, p.Warning):
                    self.notify(event.text, severity="warning", timeout=8)
                elif isinstance(event, p.Info):
                    self.notify(event.text, timeout=4)
                elif isinstance(event, p.Error):
                    self._on_error(event)

    def _on_status(self, event: p.Status) -> None:
        self._set_state(event.state)
        if event.state == p.CRASHED and event.message:
            self.notify(event.message, title="worker crashed", severity="error", timeout=15)
        if event.state in p.TERMINAL_STATES:
            self._stop_requested_at = None

    def _on_error(self, event: p.Error) -> None:
        self.last_error = event
        self._set_state(p.CRASHED)
        self.push_screen(ErrorScreen(event.message, event.traceback), self._error_closed)

    def _error_closed(self, result: str | None) -> None:
        if result == "start":
            self.action_start()

    # -- state -------------------------------------------------------------------------
    def _set_state(self, state: str) -> None:
        if state == self.state:
            return
        self.state = state
        message = BOARD_MESSAGES.get(state, "press s to start")
        if state == p.RUNNING and self.config.fps <= 0:
            message = "frames off (fps 0)"
        self.main.board_view.set_message(message)
        self._update_status()
        self.refresh_bindings()

    def _status_info(self) -> StatusInfo:
        play = self.play_model
        return StatusInfo(
            run_dir=f"play {play.parent.name}/{play.name}" if play else str(self.config.run_dir),
            state=self.state,
            total_timesteps=0 if play else self.config.total_timesteps,
            delay=self.config.step_delay,
            watching=self.view != p.VIEW_OFF,
            pace=self.pace,
        )

    def _update_status(self) -> None:
        info = self._status_info()
        self.main.status_bar.update_info(
            run_dir=info.run_dir,
            state=info.state,
            total_timesteps=info.total_timesteps,
            delay=info.delay,
            watching=info.watching,
            pace=info.pace,
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

    def _trainer_alive(self) -> bool:
        return self.session.alive and self.play_model is None

    def action_start(self) -> None:
        if not self.check_action("start", ()):
            return
        config = self.config
        done_at = None if self.play_model else finished_at(config.run_dir, config.total_timesteps)
        if done_at is not None:  # training it again would only rewrite a finished run
            self.notify(finished_message(done_at, config.total_timesteps), timeout=15)
            return
        self._starting = True
        self._set_state(p.STARTING)
        self._start_session(self.run_config())

    @work(thread=True, exclusive=True, group="session", exit_on_error=False)
    def _start_session(self, config: Config) -> None:
        try:
            if self.play_model is not None:
                self.session.start_play(config, self.play_model)  # type: ignore[attr-defined]
            else:
                self.session.start(config)
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

    def action_pause(self) -> None:
        if self.state == p.RUNNING:
            self.session.send(p.Pause())
            self._set_state(p.PAUSED)
        elif self.state == p.PAUSED:
            self.session.send(p.Resume())
            self._set_state(p.RUNNING)

    def action_keep_slot(self, name: str = "", overwrite: bool = False) -> None:
        if self.check_action("keep_slot", ()):
            name = name or f"step-{self.timesteps}"
            self.session.send(p.SaveSlot(name, overwrite))
            self.notify(f"keeping the current model as slots/{name}", timeout=4)

    def action_models(self) -> None:
        from tetris_tui.ui.screens.models import ModelsScreen

        training = self.session.alive and self.play_model is None
        self.push_screen(ModelsScreen(self.config.run_dir, training), self._models_closed)

    def _models_closed(self, request: Any) -> None:
        if request is None:
            return
        if request.action == "save_current":
            self.action_keep_slot(request.name, request.overwrite)
        elif request.action == "play" and request.path is not None:
            if self.session.alive:
                self.notify(
                    "stop first (x), or run `tetris-tui play` in another terminal",
                    title="a worker is running",
                    severity="warning",
                )
                return
            self.play_model = Path(request.path)
            self._update_status()
            self.action_start()

    def action_follow(self) -> None:
        self.main.episode_log.follow()

    def action_show_error(self) -> None:
        if self.last_error is not None:
            error = self.last_error
            self.push_screen(ErrorScreen(error.message, error.traceback), self._error_closed)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

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

    def action_read_only(self) -> None:
        self.notify("this viewer is read-only: it sees everything and commands nothing")

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

    # -- command palette ---------------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        commands = (
            ("start", "Start", "Spawn the worker; training resumes from latest/"),
            ("stop", "Stop", "Save latest/ and end the worker"),
            ("pause", "Pause / resume", "Hold the worker without ending it"),
            ("watch", "Board view", "spectator, training env 0 or off"),
            ("replay", "Replay the best game", "replays/best.json on the board"),
            ("models", "Models", "latest, best, final and the slots: keep, rename, play"),
            ("keep_slot", "Keep a slot", "Copy the current model into slots/"),
            ("show_error", "Show last error", "The worker's traceback"),
            ("help", "Help", "All keys of tetris-tui"),
        )
        for action, title, help_text in commands:
            if self.check_action(action, ()):
                yield SystemCommand(title, help_text, getattr(self, f"action_{action}"))
        yield from super().get_system_commands(screen)
