"""What the board shows: the spectator's game, training's env 0, a replay, or nothing.

The main screen owns the widgets; this keeps the board's side of it: the view
``w`` chose, the spectator's feed and its animation clock, a replay, and the
board's title. It draws on the ``BoardView`` it is given and sends nothing:
the app's keys tell the worker.
"""

from __future__ import annotations

import time
from typing import Any

from tetris_tui import protocol as p
from tetris_tui.ui.spectator_feed import SpectatorFeed
from tetris_tui.ui.spectator_titles import board_titles
from tetris_tui.ui.widgets.board import BoardView

# Least seconds between two frames of the spectator on the live board: every
# other drain tick, 10 frames a second. Each frame repaints a few rows (~3 ms);
# at 20 a second they were most of the UI's CPU while training (bench/ui.py),
# and the UI's CPU costs training speed.
LIVE_FRAME_GAP = 0.09
# Seconds between updates of the board's subtitle (which weights play) during
# play: a new border repaints the whole board, and the weights change at every
# PPO update, many times a second on a small rollout.
SUBTITLE_INTERVAL = 1.0


class SpectatorBoard:
    """The board's view, the spectator's animation and replays, drawn on ``board``."""

    def __init__(self, board: BoardView, view: str, pace: float) -> None:
        self.board = board
        self.view = view
        self.feed = SpectatorFeed(pace)
        self.replay_game: Any = None
        self._animated_at = 0.0
        self._subtitle_at = 0.0

    def shows_env_frames(self) -> bool:
        """Training's frames: in the env view, or while no spectator plays (it is
        starting, or the raw env has none)."""
        if self.view == p.VIEW_ENV:
            return True
        return self.view == p.VIEW_SPECTATOR and self.feed.current is None and not self.feed.busy

    def animate(self) -> bool:
        """Draw the spectator's next frame, if one is due; True when one was drawn.

        Called on every drain tick; it costs nothing when nothing moves.
        """
        if self.view != p.VIEW_SPECTATOR or not self.feed.busy:
            return False
        now = time.monotonic()
        if now - self._animated_at < LIVE_FRAME_GAP:
            return False
        frame = self.feed.tick(now)
        if frame is None:
            return False
        self._animated_at = now
        self.board.show_frame(frame)
        self.titles(force=False)
        return True

    def titles(self, force: bool = True) -> None:
        """The board's title at once; during play its subtitle at most once a second."""
        title, subtitle = board_titles(self.view, self.feed, self.replay_game)
        if self.board.border_title != title:
            self.board.border_title = title
            force = True
        now = time.monotonic()
        if self.board.border_subtitle != subtitle and (
            force or now - self._subtitle_at >= SUBTITLE_INTERVAL
        ):
            self.board.border_subtitle = subtitle
            self._subtitle_at = now

    def set_view(self, view: str) -> None:
        """spectator, env (training's env 0) or off."""
        self.view = view
        self.board.set_watching(view != p.VIEW_OFF)
        self.titles()

    def set_pace(self, pace: float) -> None:
        self.feed.pace = pace

    def start_replay(self, game: Any) -> None:
        from tetris_tui.replay import replay_events

        self.replay_game = game
        self.feed.start_replay(replay_events(game, self.feed.pace))
        self.titles()

    def stop_replay(self) -> None:
        self.replay_game = None
        self.feed.stop_replay()
        self.titles()
