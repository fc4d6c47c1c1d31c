"""The training games still in progress, counted by their lines so far.

Once an agent is strong its games last minutes, and the games that finish
first are the short ones: a curve of finished games alone lags the agent
(issue #22 saw avg100 448 beside 4,000-line games). The env already keeps each
running game's lines; this reads them on the metrics tick, never per step:
one numpy mean for the batched env (~5 µs for 256 games), an attribute read per
game in-process, and for subprocess envs at most one round trip a second.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

# Subprocess envs answer through pipes: ask them at most this often (seconds).
REMOTE_INTERVAL = 1.0


class RunningGames:
    """``read(venv)`` -> (mean lines so far, games in progress); (None, 0) if unknown."""

    def __init__(self) -> None:
        self._remote_at = float("-inf")
        self._remote: tuple[float | None, int] = (None, 0)

    def read(self, venv: Any) -> tuple[float | None, int]:
        try:
            return self._read(_inner(venv))
        except Exception:  # noqa: BLE001 - a figure is never worth a crashed trainer
            return None, 0

    def _read(self, env: Any) -> tuple[float | None, int]:
        lines = getattr(env, "lines", None)
        if isinstance(lines, np.ndarray):  # PlacementVecEnv: every game's counter at hand
            return _mean(lines)
        from stable_baselines3.common.vec_env import DummyVecEnv

        if isinstance(env, DummyVecEnv):  # GameStatsWrapper.lines of each game
            return _mean(np.asarray(env.get_attr("lines"), dtype=np.float64))
        now = time.monotonic()
        if now - self._remote_at < REMOTE_INTERVAL:
            return self._remote
        self._remote_at = now
        blocks = getattr(env, "blocks", None)
        if blocks is not None:  # sharded batched env: one array per shard
            parts = env.get_attr("lines", indices=[first for first, _ in blocks])
            self._remote = _mean(np.concatenate([np.asarray(part) for part in parts]))
        else:  # SubprocVecEnv: one answer per game
            self._remote = _mean(np.asarray(env.get_attr("lines"), dtype=np.float64))
        return self._remote


def _inner(venv: Any) -> Any:
    """Through VecMonitor and any other VecEnvWrapper to the env that plays."""
    while hasattr(venv, "venv"):
        venv = venv.venv
    return venv


def _mean(lines: np.ndarray) -> tuple[float | None, int]:
    if lines.size == 0:
        return None, 0
    return round(float(lines.mean()), 1), int(lines.size)
