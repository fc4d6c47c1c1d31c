"""Rolling per-game statistics: what "best" and "target lines" are judged on."""

from __future__ import annotations

import math
import time
from collections import deque
from typing import Any

from tetris_tui.protocol import Episode

WINDOW = 100


class RollingGames:
    """The last ``WINDOW`` games, the all-time game count and the best rolling mean.

    ``best`` and the target are judged only on a full window: the mean of the last
    ``WINDOW`` games, never a handful of lucky ones. A resumed run carries its
    window on from the run's history (``restore``), and its best through meta.json.
    """

    def __init__(self, episodes: int = 0, best_mean: float | None = None) -> None:
        self.episodes = episodes
        self.best_mean = best_mean
        self.lines: deque[int] = deque(maxlen=WINDOW)
        self.rewards: deque[float] = deque(maxlen=WINDOW)
        self.pieces: deque[int] = deque(maxlen=WINDOW)

    def restore(self, games: list[Episode]) -> None:
        """Carry on the window of a resumed run from its recorded games (oldest first)."""
        for game in games[-WINDOW:]:
            self.lines.append(int(game.lines))
            reward = float(game.reward)
            self.rewards.append(reward if math.isfinite(reward) else 0.0)
            self.pieces.append(int(game.pieces))

    @property
    def window_full(self) -> bool:
        return len(self.lines) == WINDOW

    def add(self, game: dict[str, Any], timesteps: int, env_index: int, started: float) -> Episode:
        """Record one finished game (``info["game"]`` from the env) as an Episode event."""
        return self.add_many([(game, env_index, started)], timesteps, time.time())[0]

    def add_many(
        self, finished: list[tuple[dict[str, Any], int, float]], timesteps: int, now: float
    ) -> list[Episode]:
        """Record the games that ended in one step: (``info["game"]``, env index, start time).

        One call a step, not one a game: early in training several games end
        every step, and this is the training thread's cost of each.
        """
        lines_window, rewards_window, pieces_window = self.lines, self.rewards, self.pieces
        episodes = []
        for game, env_index, started in finished:
            self.episodes += 1
            lines = int(game["lines"])
            pieces = int(game["pieces"])
            reward = float(game["reward"])
            if not math.isfinite(reward):
                reward = 0.0
            lines_window.append(lines)
            rewards_window.append(reward)
            pieces_window.append(pieces)
            episodes.append(
                Episode(
                    episode=self.episodes,
                    lines=lines,
                    reward=round(reward, 3),
                    pieces=pieces,
                    length=int(game["length"]),
                    timesteps=timesteps,
                    time=now,
                    duration_s=round(max(0.0, now - started), 3),
                    env_index=env_index,
                    capped=bool(game.get("capped", False)),
                )
            )
        return episodes

    @property
    def lines_mean(self) -> float | None:
        return _mean(self.lines)

    @property
    def reward_mean(self) -> float | None:
        return _mean(self.rewards)

    @property
    def pieces_mean(self) -> float | None:
        return _mean(self.pieces)

    def beats_best(self) -> bool:
        """A full window whose mean is above the best so far."""
        mean = self.lines_mean
        if mean is None or not self.window_full:
            return False
        return self.best_mean is None or mean > self.best_mean

    def reaches(self, target: float | None) -> bool:
        """A full window whose mean is at least ``target``."""
        mean = self.lines_mean
        return target is not None and self.window_full and mean is not None and mean >= target


def _mean(values: deque) -> float | None:
    return sum(values) / len(values) if values else None
