"""Training env 0's board, sent to the UI when the board's view wants it.

The board shows the spectator's game by default; env 0's frames go out in the
``env`` view, for the raw env (which has no spectator), and while the
spectator has not placed its first piece yet, so the board is never blank
after ``s``. At most ``fps`` frames a second: each is an ``env_method`` call
and a pickled board, ~0.5 ms of the training thread on a loaded machine. While
they only stand in for the spectator, at most ``STAND_IN_FPS``: a spectator
starved of CPU (it runs at low priority) once left env frames the largest part
of reporting's cost (``bench/overhead_profile.py``).
"""

from __future__ import annotations

import math
from typing import Any

from tetris_tui.config import Config
from tetris_tui.protocol import VIEW_ENV, VIEW_SPECTATOR, Board
from tetris_tui.worker.spectator import env_frames_wanted

STAND_IN_FPS = 2.0


class BoardFrames:
    """When to send env 0's frame, and sending it."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.view = config.view
        self.watch = env_frames_wanted(config, config.view)
        self.interval = 1.0 / config.fps if config.fps > 0 else math.inf
        self.next_at = 0.0

    def set_watch(self, on: bool) -> None:
        self.watch = bool(on) and self.config.fps > 0

    def set_view(self, view: str) -> None:
        self.view = view
        self.watch = env_frames_wanted(self.config, view)

    def wanted(self, spectator: Any) -> bool:
        """Asked for, or standing in for a spectator that has not placed a piece yet
        (it starts at low priority and waits for the first PPO update)."""
        if self.watch:
            return True
        return (
            self.view == VIEW_SPECTATOR
            and spectator is not None
            and not spectator.placing
            and env_frames_wanted(self.config, VIEW_ENV)
        )

    def send_if_due(self, now: float, env: Any, timesteps: int, sink: Any, spectator: Any) -> None:
        if now < self.next_at or not self.wanted(spectator):
            return
        self.next_at = now + (self.interval if self.watch else max(self.interval, 1 / STAND_IN_FPS))
        try:
            frame = env.env_method("board_frame", indices=[0])[0]
        except Exception:  # noqa: BLE001 - a frame is never worth a crash
            return
        sink.send(Board(timesteps=timesteps, **frame))
