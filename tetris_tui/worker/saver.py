"""Writes checkpoints for the worker and tells the UI what was saved."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tetris_tui.config import Config
from tetris_tui.protocol import Checkpoint, Info, Warning
from tetris_tui.runs.checkpoints import package_versions, save_checkpoint
from tetris_tui.worker.game_stats import RollingGames
from tetris_tui.worker.model_factory import PPO_FIELDS, network_widths
from tetris_tui.worker.reporter import EventSink


class CheckpointWriter:
    """Builds meta.json from the run's state; a failed save warns, never crashes.

    A full disk or read-only directory must not kill hours of training: the
    previous checkpoint stays intact (writes are atomic) and the user is told.
    """

    def __init__(self, config: Config, sink: EventSink, games: RollingGames) -> None:
        self.config = config
        self.sink = sink
        self.games = games
        self.versions = package_versions()
        self.started = time.time()
        self.extra: dict[str, Any] = {}
        self._last_failure = ""

    def meta(self, model: Any, best_mean: float | None = None) -> dict[str, Any]:
        """What a checkpoint says about itself. ``best_mean``: the best this save makes."""
        return {
            "timesteps": int(model.num_timesteps),
            "episodes": self.games.episodes,
            "lines_mean": self.games.lines_mean,
            "window_games": len(self.games.lines),
            "best_lines_mean": self.games.best_mean if best_mean is None else best_mean,
            "config": self.config.to_dict(),
            "ppo_in_use": ppo_in_use(model),
            "versions": self.versions,
            "session_started_at": self.started,
            **self.extra,
        }

    def save(self, model: Any, which: str, best_mean: float | None = None) -> Path | None:
        """Save ``which``; None (after one warning) when it failed.

        Games held for batching are sent first, so events.jsonl holds every game
        the checkpoint counts: a resumed run restores its window from there.
        """
        self.sink.flush()
        try:
            meta = self.meta(model, best_mean)
            path = save_checkpoint(model, self.config.run_dir, which, meta)
        except Exception as exc:  # noqa: BLE001 - any failure to save is reported, not fatal
            message = f"could not save {which}: {exc}"
            if message != self._last_failure:  # a full disk fails every save: say it once
                self._last_failure = message
                self.sink.send(Warning(message))
            return None
        if self._last_failure:
            self._last_failure = ""
            self.sink.send(Info(f"saving works again ({which} saved)"))
        self.sink.send(
            Checkpoint(
                which=which,
                path=str(path),
                timesteps=int(model.num_timesteps),
                lines_mean=self.games.lines_mean,
            )
        )
        return path


def ppo_in_use(model: Any) -> dict[str, Any]:
    """The hyper-parameters the live model trains with (what a resume really used)."""
    values: dict[str, Any] = {}
    for name in PPO_FIELDS:
        values[name] = _plain(getattr(model, name, None))
    values.update(network_widths(model))
    return values


def _plain(value: Any) -> Any:
    """JSON-ready numbers; a schedule is shown by its value at the start."""
    if callable(value):
        value = value(1.0)
    if isinstance(value, (int, float)) or value is None:
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)
