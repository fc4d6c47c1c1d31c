"""The games in progress, counted by their lines so far, from every kind of training env."""

from __future__ import annotations

import types

import numpy as np
from spectator_helpers import heuristic
from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor

from tetris_tui.config import EnvConfig
from tetris_tui.envs import make_env
from tetris_tui.envs.placement_vec import PlacementVecEnv
from tetris_tui.worker import running_games
from tetris_tui.worker.running_games import RunningGames


def play(venv, steps: int) -> None:
    """A hand-tuned player's placements: games with lines in them, still running."""
    obs = venv.reset()
    for _ in range(steps):
        obs, *_ = venv.step(np.array([heuristic(game) for game in obs]))


def test_the_batched_env_through_vecmonitor():
    inner = PlacementVecEnv(16, seed=1)
    venv = VecMonitor(inner)
    play(inner, 60)
    mean, games = RunningGames().read(venv)
    assert games == 16 and mean == round(float(inner.lines.mean()), 1)
    assert inner.lines.sum() > 0 and inner.pieces.min() > 0  # games in progress, with lines


class FakeShards:
    """``ShardedPlacementVecEnv``'s side of it: each shard answers with its games' array.

    (The real one spawns a process per shard: over a minute to start on a busy 2-core box.)
    """

    blocks = [(0, 3), (3, 2)]
    num_envs = 5

    def __init__(self) -> None:
        self.asked: list[tuple[str, list[int]]] = []

    def get_attr(self, name: str, indices: list[int]) -> list[np.ndarray]:
        self.asked.append((name, indices))
        return [np.array([4, 0, 8]), np.array([12, 6])]


def test_sharded_games_are_read_from_every_shard_at_most_once_a_second(monkeypatch):
    clock = types.SimpleNamespace(monotonic=lambda: 1e9)  # the reader's clock stands still
    monkeypatch.setattr(running_games, "time", clock)
    shards, reader = FakeShards(), RunningGames()
    assert reader.read(shards) == (6.0, 5)
    assert shards.asked == [("lines", [0, 3])]  # one question per shard, not per game
    assert reader.read(shards) == (6.0, 5) and len(shards.asked) == 1  # kept for a second
    clock.monotonic = lambda: 1e9 + 1.5
    reader.read(shards)
    assert len(shards.asked) == 2


def test_one_env_per_game_reads_each_games_counter():
    venv = DummyVecEnv([lambda s=s: make_env(EnvConfig(kind="raw"), seed=s) for s in (1, 2)])
    venv.reset()
    for _ in range(200):
        venv.step(np.array([venv.action_space.sample() for _ in range(2)]))
    lines = venv.get_attr("lines")
    assert RunningGames().read(venv) == (round(float(np.mean(lines)), 1), 2)


def test_an_env_without_counters_says_unknown():
    class Bare:
        num_envs = 2

    assert RunningGames().read(Bare()) == (None, 0)
