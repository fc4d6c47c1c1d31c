"""Greedy evaluation games during training (``--eval-every``).

Played on a separate env so training's games are untouched; results go to the
UI as an Evaluation event and into meta.json of later checkpoints.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from tetris_tui.config import Config
from tetris_tui.protocol import Evaluation
from tetris_tui.training.saver import CheckpointWriter

# Evaluation games are capped so one game of a strong agent cannot stall training.
EVAL_MAX_PIECES = 2_000


class PeriodicEvaluator:
    """Called by the callback every ``eval_every`` timesteps."""

    def __init__(self, config: Config, writer: CheckpointWriter) -> None:
        self.config = config
        self.writer = writer
        self.round = 0

    def __call__(
        self, model: Any, timesteps: int, should_stop: Callable[[], bool] = lambda: False
    ) -> Evaluation | None:
        """Play the games; None when ``should_stop`` cut them short (checked every move)."""
        from tetris_tui.training.evaluate import play_games

        self.round += 1
        seed = 1000 + self.round if self.config.seed is None else self.config.seed + 1000
        results = play_games(
            model,
            self.config.eval_games,
            self.config.env,
            seed=seed,
            max_pieces=EVAL_MAX_PIECES,
            on_step=lambda _steps, _finished: should_stop(),
        )
        if should_stop() or len(results) < self.config.eval_games:
            return None
        lines = [float(r.lines) for r in results]
        event = Evaluation(
            timesteps=timesteps,
            games=len(lines),
            lines_mean=statistics.fmean(lines),
            lines_max=max(lines),
        )
        self.writer.extra["last_eval"] = {
            "timesteps": timesteps,
            "games": len(lines),
            "lines_mean": event.lines_mean,
            "lines_max": event.lines_max,
            "capped": sum(bool(r.capped) for r in results),
        }
        return event
