"""Greedy evaluation games during training (``--eval-every``).

Played on a separate env so training's games are untouched; results go to the
UI as an Evaluation event and into meta.json of later checkpoints.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from tetris_tui.config import Config
from tetris_tui.protocol import Evaluation
from tetris_tui.worker.saver import CheckpointWriter

# Evaluation games are capped so one game of a strong agent cannot stall training.
EVAL_MAX_PIECES = 2_000


class PeriodicEvaluator:
    """Called by the callback every ``eval_every`` timesteps."""

    def __init__(self, config: Config, writer: CheckpointWriter) -> None:
        self.config = config
        self.writer = writer
        self.round = 0
        self.replays: Any = None  # BestReplay, made at the first evaluation

    def __call__(
        self, model: Any, timesteps: int, should_stop: Callable[[], bool] = lambda: False
    ) -> Evaluation | None:
        """Play the games; None when ``should_stop`` cut them short (checked every move)."""
        from tetris_tui.worker.evaluate import play_games

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
        self._record_best(model, results, seed, timesteps, should_stop)
        self.writer.extra["last_eval"] = {
            "timesteps": timesteps,
            "games": len(lines),
            "lines_mean": event.lines_mean,
            "lines_max": event.lines_max,
            "capped": sum(bool(r.capped) for r in results),
        }
        return event

    def _record_best(
        self, model: Any, results: list[Any], seed: int, timesteps: int, should_stop: Any
    ) -> None:
        """A best game so far is played again, recorded, into ``replays/best.json``.

        Greedy play is deterministic, so replaying the seed of the round's best
        game costs one game, and only when it is a new best.
        """
        from tetris_tui.policy.lean_ppo import greedy_policy
        from tetris_tui.worker.best_replay import BestReplay
        from tetris_tui.worker.greedy_game import policy_predictor, record_game

        if self.config.env.kind != "placement" or not results:
            return
        if self.replays is None:
            self.replays = BestReplay(self.config.run_dir)
        index = max(range(len(results)), key=lambda i: results[i].lines)
        if not self.replays.beats(results[index].lines, results[index].pieces):
            return
        game = record_game(
            policy_predictor(greedy_policy(model)),  # the averaged weights, as evaluated
            self.config.env,
            seed + index,
            EVAL_MAX_PIECES,
            timesteps,
            should_stop,
        )
        if game is not None:
            self.replays.offer(replace(game, source="eval"))
