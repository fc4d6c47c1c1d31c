"""Writes checkpoints for the worker and tells the UI what was saved."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tetris_tui.config import Config
from tetris_tui.protocol import Checkpoint, Info, Warning
from tetris_tui.training.checkpoints import package_versions, save_checkpoint
from tetris_tui.training.game_stats import RollingGames
from tetris_tui.training.reporter import EventSink


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

    def meta(self, model: Any) -> dict[str, Any]:
        return {
            "timesteps": int(model.num_timesteps),
            "episodes": self.games.episodes,
            "lines_mean": self.games.lines_mean,
            "best_lines_mean": self.games.best_mean,
            "config": self.config.to_dict(),
            "versions": self.versions,
            "session_started_at": self.started,
            **self.extra,
        }

    def save(self, model: Any, which: str) -> Path | None:
        try:
            path = save_checkpoint(model, self.config.run_dir, which, self.meta(model))
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
