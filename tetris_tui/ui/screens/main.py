"""The main screen: status line, board, learning curve, learning panel, episode log, footer.

It handles the *view* messages of a drained batch (board frames, games,
metrics, spectator placements, evaluations, checkpoints) and passes them to its
widgets; status, notices and errors bubble on to the app, which owns the
session and the run's state. Games, sparklines and the status line's figures
reach the screen at most
``PANEL_HZ`` times a second, in one repaint; only the last board frame of a
batch is drawn.
"""

from __future__ import annotations

import time
from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from tetris_tui import protocol as p
from tetris_tui.config import Config
from tetris_tui.ui.messages import (
    BatchDrained,
    CheckpointArrived,
    EvaluationArrived,
    FrameArrived,
    GamesArrived,
    MetricsArrived,
    RunFigures,
    SpectatorArrived,
    StatusArrived,
    SystemArrived,
)
from tetris_tui.ui.preferences import Preferences
from tetris_tui.ui.spectator_board import SpectatorBoard
from tetris_tui.ui.widgets.board import BoardView
from tetris_tui.ui.widgets.curve import CurvePanel
from tetris_tui.ui.widgets.episodes import EpisodeLog
from tetris_tui.ui.widgets.learning import LearningPanel, geometry_for
from tetris_tui.ui.widgets.runinfo import RunInfo, config_rows
from tetris_tui.ui.widgets.series import fmt_int, fmt_num
from tetris_tui.ui.widgets.status import StatusBar, StatusInfo
from tetris_tui.ui.widgets.system import WAITING, SystemStrip

PANEL_HZ = 2.0
# Seconds the panels may wait for a tick that also draws a board frame.
PANEL_SLACK = 0.15
# Terminal size (columns, lines) from which board cells are drawn twice as big.
BIG_BOARD_SIZE = (200, 60)


def curve_height(height: int) -> int:
    """The chart's rows (borders included): a third of the panels' height, 7 to 20."""
    return max(7, min(20, (height - 2) // 3))


class MainScreen(Screen[None]):
    """Everything a run shows; widgets are held as attributes (no queries per tick)."""

    # "-tiny" is in both lists: either dimension too small shows the notice.
    HORIZONTAL_BREAKPOINTS = [(0, "-tiny"), (40, "-narrow"), (100, "-wide"), (140, "-xwide")]
    VERTICAL_BREAKPOINTS = [(0, "-tiny"), (12, "-short"), (40, "-tall")]

    def __init__(
        self,
        info: StatusInfo,
        watching: bool,
        config: Config | None = None,
        view: str = p.VIEW_SPECTATOR,
        pace: float = p.DEFAULT_PACE,
    ) -> None:
        super().__init__()
        self.config = config
        self.run_info = RunInfo(config_rows(config) if config else [], id="runinfo")
        self.status_bar = StatusBar(info, id="status")
        self.board_view = BoardView(id="board")
        self.curve = CurvePanel(id="curve")
        self.learning = LearningPanel(id="learning")
        self.episode_log = EpisodeLog(id="episodes")
        self.system_strip = SystemStrip(id="system")
        self.footer = Footer()
        self.board_view.set_watching(watching)
        self.spectator = SpectatorBoard(self.board_view, view if watching else p.VIEW_OFF, pace)
        self.feed = self.spectator.feed
        self.timesteps = info.timesteps
        self._pending_games: list[p.Episode] = []
        self._pending_status: dict[str, Any] = {}
        self._panels_at = 0.0
        self._frame_drawn = False
        self._flush_now = False  # a terminal status: flush at the end of its batch

    def compose(self) -> ComposeResult:
        yield self.status_bar
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield self.board_view
                yield self.run_info
            with Vertical(id="right"):
                yield self.curve
                yield self.learning
                yield self.episode_log
                yield self.system_strip
        yield Static("terminal too small\nneeds at least 40x12", id="too-small")
        yield self.footer

    BINDINGS = [
        Binding("t", "curve('toggle_axis')", "curve x axis", show=False, id="curve_axis"),
        Binding("l", "curve('toggle_log')", "curve log y", show=False, id="curve_log"),
        Binding(
            "a", "curve('cycle_smoothing')", "curve smoothing", show=False, id="curve_smoothing"
        ),
    ]

    def on_mount(self) -> None:
        self.spectator.set_view(self.spectator.view)
        self.learning.border_title = "learning"
        self.episode_log.border_title = "episodes"
        self.run_info.border_title = "run"
        self.system_strip.display = self.config is not None  # play mode: no trainer
        self._layout_for(self.app.size.width, self.app.size.height)
        if self.config is not None:  # training: the whole run's curve (none in play mode)
            self.curve.load_run(self.config.run_dir)
        self._apply_preferences()

    def action_curve(self, change: str) -> None:
        """t, l and a change the chart's own view; nothing is sent to the worker."""
        getattr(self.curve, change)()
        self.save_preferences()

    # -- preferences (ui/preferences.py) -----------------------------------------------
    def _apply_preferences(self) -> None:
        """The saved theme, keys and curve view; each problem with the file in one toast."""
        prefs: Preferences | None = getattr(self.app, "preferences", None)
        if prefs is None:
            return
        for problem in prefs.apply_to_app(self.app, self.curve):
            self.notify(problem, severity="warning", timeout=8)
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.save_preferences())

    def save_preferences(self) -> None:
        """Write what the user chose now (theme, board view, fps, pace, the curve's view)."""
        prefs: Preferences | None = getattr(self.app, "preferences", None)
        fps = self.config.fps if self.config is not None else None
        problem = prefs.remember(self.app, self.curve, fps) if prefs is not None else None
        if problem:
            self.notify(problem, severity="warning", timeout=8)

    def on_unmount(self) -> None:
        self.save_preferences()

    def on_resize(self, event: events.Resize) -> None:
        self._layout_for(event.size.width, event.size.height)

    def _layout_for(self, width: int, height: int) -> None:
        """Bigger cells on big terminals, panel columns by width; a shorter footer on narrow ones.

        Below 100 columns the footer leaves out ``^p palette`` (ctrl+p still works
        and the help lists it) so that every key fits in 80 columns.
        """
        # Double-size cells paint four times the cells at every frame: only where
        # the terminal is really big (the board is already half of a 160x50 screen).
        scale = 2 if width >= BIG_BOARD_SIZE[0] and height >= BIG_BOARD_SIZE[1] else 1
        self.board_view.set_scale(scale)
        self.learning.set_geometry(geometry_for(width, height))
        self.curve.styles.height = curve_height(height)
        # The run panel only where it fits whole under the board.
        room = height - 2 - (20 * scale + 2)
        self.run_info.display = bool(self.run_info.rows) and room >= len(self.run_info.rows) + 2
        self.footer.compact = width < 80
        self.footer.show_command_palette = width >= 100

    # -- messages (posted by the app's drain, see ui/messages.py) ---------------------
    def on_frame_arrived(self, message: FrameArrived) -> None:
        self._frame_drawn = self.board_view.watching and self.spectator.shows_env_frames()
        if self._frame_drawn:
            self.board_view.show_frame(message.frame)

    def on_games_arrived(self, message: GamesArrived) -> None:
        self._pending_games.extend(message.games)
        self.timesteps = max(self.timesteps, message.games[-1].timesteps)

    def on_metrics_arrived(self, message: MetricsArrived) -> None:
        metrics = message.metrics
        self.timesteps = metrics.timesteps
        self.learning.add_metrics(metrics)
        self.curve.add_running(metrics)
        self._pending_status.update(
            steps_per_sec=metrics.steps_per_sec, elapsed_s=metrics.elapsed_s
        )

    def on_system_arrived(self, message: SystemArrived) -> None:
        self.system_strip.show(message.system)

    def on_spectator_arrived(self, message: SpectatorArrived) -> None:
        for event in message.events:
            if isinstance(event, p.SpectatorPlacement):
                self.feed.add(event)
            else:
                self.feed.game_over(event)

    def on_evaluation_arrived(self, message: EvaluationArrived) -> None:
        message.stop()
        event = message.evaluation
        self.curve.add_evaluation(event)
        text = f"{event.games} greedy games: mean {event.lines_mean:.1f} lines"
        self.notify(text, title="evaluation", timeout=4)

    def on_checkpoint_arrived(self, message: CheckpointArrived) -> None:
        """A routine save of ``latest`` goes to the status line (it came every few
        seconds, over the game log); other saves get a toast."""
        message.stop()
        note = self.show_checkpoint(message.checkpoint)
        if message.checkpoint.which == p.LATEST:
            self._pending_status["latest_saved_at"] = time.time()
        elif note:
            self.notify(note, title="checkpoint", timeout=4)

    def on_status_arrived(self, message: StatusArrived) -> None:
        state = message.status.state
        if state in p.TERMINAL_STATES:
            self.system_strip.clear(f"no trainer (it {state})")
        elif self.system_strip.event is None:
            self.system_strip.clear(WAITING)
        if message.status.timesteps:  # then on to the app, which keeps the run's state
            self.timesteps = message.status.timesteps
        if state in p.TERMINAL_STATES:
            # Nothing may come after it to flush what is pending: the last games
            # and the final timesteps would wait, unshown, for a tick that never comes.
            self._flush_now = True

    def on_batch_drained(self, message: BatchDrained) -> None:
        animated = self.spectator.animate()
        with_board = animated or (message.with_frame and self._frame_drawn)
        self.flush_panels(force=self._flush_now, with_board=with_board)
        self._flush_now = False
        self._frame_drawn = False

    def flush_panels(self, force: bool = False, with_board: bool = True) -> None:
        """Games and sparklines reach the screen at most PANEL_HZ times a second.

        Fast games arrive on nearly every tick; one repaint for the log and the
        sparklines together, twice a second, costs a fraction of twenty. While
        board frames come in, the panels wait (up to PANEL_SLACK) for a tick that
        draws one, so both share a screen update: each update has a fixed cost.
        """
        now = time.monotonic()
        since = now - self._panels_at
        if not force and since < 1.0 / PANEL_HZ:
            return
        if not force and not with_board and since < 1.0 / PANEL_HZ + PANEL_SLACK:
            return
        self._panels_at = now
        # Games and metrics move the status line on nearly every tick: redraw it
        # in the same repaint as the panels (each separate repaint has a fixed cost).
        self.post_message(RunFigures(timesteps=self.timesteps, **self._pending_status))
        self._pending_status = {}
        if self._pending_games:
            games, self._pending_games = self._pending_games, []
            self.episode_log.add_episodes(games)
            self.learning.add_episodes(games)
            self.curve.add_episodes(games)
        self.learning.flush(force=True)
        self.curve.flush()

    def show_history(self, history: Any) -> bool:
        """A reopened run's games and last checkpoint; True if there was any."""
        games: list[p.Episode] = list(getattr(history, "episodes", []))
        checkpoints: list[p.Checkpoint] = list(getattr(history, "checkpoints", []))
        self.episode_log.add_episodes(games)
        self.learning.add_episodes(games)
        self.learning.flush(force=True)
        if checkpoints:
            self.show_checkpoint(checkpoints[-1])
        self.timesteps = max(self.timesteps, int(getattr(history, "timesteps", 0) or 0))
        self.post_message(RunFigures(timesteps=self.timesteps, latest_saved_at=self._saved_at()))
        return bool(games or self.timesteps)

    def _saved_at(self) -> float | None:
        """When a reopened run's ``latest`` was saved (its meta.json is written last)."""
        if self.config is None:
            return None
        try:
            return (self.config.run_dir / p.LATEST / "meta.json").stat().st_mtime
        except OSError:
            return None

    def show_checkpoint(self, event: p.Checkpoint) -> str | None:
        """Note the checkpoint under the learning panel.

        A new best goes into the episode log, between the games that made it;
        anything else returns a line for a toast.
        """
        text = f"saved {event.which} @ {fmt_int(event.timesteps)}"
        self.learning.border_subtitle = text
        if event.which == p.BEST:
            mean = "" if event.lines_mean is None else f": mean {fmt_num(event.lines_mean)}"
            self.episode_log.add_note(f"new best model{mean} lines/game (saved)")
            return None
        return f"{text} steps"
