"""``tetris-tui replay``: a small app that plays a recorded game back on the board.

No worker, no torch, no env: the replay file holds every placement, and the
same feed and animation as the live spectator draw it at the chosen pace.
"""

from __future__ import annotations

import time
from pathlib import Path

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Static

from tetris_tui import protocol as p
from tetris_tui.replay import ReplayGame, replay_events
from tetris_tui.ui.spectator_feed import SpectatorFeed, pace_label, step_pace
from tetris_tui.ui.widgets.board import BoardView

# Frames per second of the replay (only while something moves: idle otherwise).
ANIMATION_HZ = 20.0


class ReplayApp(App[None]):
    """The board, a status line and the pace keys; ``r`` starts the game over."""

    TITLE = "tetris-tui replay"
    CSS = """
    Screen { background: $background; }
    #replay-status { height: 1; background: $panel; padding: 0 1; }
    #board { border: round $primary 60%; border-title-style: bold; background: $surface; }
    """
    BINDINGS = [
        Binding("plus,equals_sign", "faster", "faster", key_display="+"),
        Binding("minus", "slower", "slower", key_display="-"),
        Binding("p,space", "pause", "pause"),
        Binding("r", "restart", "restart"),
        Binding("q", "quit", "quit"),
    ]

    def __init__(self, game: ReplayGame, path: Path, pace: float = p.DEFAULT_PACE) -> None:
        super().__init__()
        self.game = game
        self.path = path
        self.feed = SpectatorFeed(pace)
        self.paused = False
        self._status_text = ""
        self.status = Static(id="replay-status")
        self.board = BoardView(id="board")

    def compose(self) -> ComposeResult:
        yield self.status
        yield self.board
        yield Footer()

    def on_mount(self) -> None:
        self.board.border_title = f"replay · {self.game.lines:,} lines"
        self.board.border_subtitle = f"policy @ {self.game.policy_timesteps:,}"
        self.action_restart()
        self.set_interval(1.0 / ANIMATION_HZ, self._tick)

    def _tick(self) -> None:
        if not self.paused and self.feed.busy:
            frame = self.feed.tick(time.monotonic())
            if frame is not None:
                self.board.show_frame(frame)
        self._show_status()

    def _show_status(self) -> None:
        shown = self.feed.shown
        pieces = shown.pieces if shown is not None else 0
        state = "paused" if self.paused else ("done" if self.feed.replay is None else "playing")
        text = (
            f"{state} │ piece {pieces:,} / {self.game.pieces:,} │ "
            f"pace {pace_label(self.feed.pace)} │ {self.game.source} game │ {self.path}"
        )
        if text != self._status_text:
            self._status_text = text
            self.status.update(text)

    def action_restart(self) -> None:
        self.feed.start_replay(replay_events(self.game, self.feed.pace))
        self._show_status()

    def action_pause(self) -> None:
        self.paused = not self.paused
        self._show_status()

    def action_faster(self) -> None:
        self.feed.pace = step_pace(self.feed.pace, faster=True)
        self._show_status()

    def action_slower(self) -> None:
        self.feed.pace = step_pace(self.feed.pace, faster=False)
        self._show_status()
