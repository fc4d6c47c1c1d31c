"""The batched greedy evaluator plays exactly the games of the batched env, under every rule set."""

from __future__ import annotations

import numpy as np
import pytest
from test_placement_env import WEIGHTS

from tetris_tui.config import EnvConfig
from tetris_tui.envs.features import N_FEATURES
from tetris_tui.envs.greedy_batch import play_greedy
from tetris_tui.envs.placement_vec import PlacementVecEnv


def heuristic(obs: np.ndarray) -> np.ndarray:
    """A Dellacherie-like scorer: long, line-clearing, deterministic games."""
    scores = obs[:, :, :N_FEATURES] @ WEIGHTS
    scores[obs[:, :, -1] == 0] = -np.inf
    return scores.argmax(axis=1)


def weak(obs: np.ndarray) -> np.ndarray:
    """Lowest landing only: short games that end by overflowing."""
    scores = -obs[:, :, 9] + 0.001 * np.arange(40)
    scores[obs[:, :, -1] == 0] = -np.inf
    return scores.argmax(axis=1)


def first_games(config: EnvConfig, n: int, seed: int, act) -> list[tuple]:
    """Each slot's first game in ``PlacementVecEnv`` (the reference)."""
    env = PlacementVecEnv(n, config, seed)
    obs = env.reset()
    results: dict[int, tuple] = {}
    while len(results) < n:
        obs, _, dones, infos = env.step(act(obs))
        for i in np.flatnonzero(dones):
            if int(i) not in results:
                g = infos[i]["game"]
                results[int(i)] = (g["lines"], g["pieces"], g["reward"], g["capped"])
    return [results[i] for i in range(n)]


@pytest.mark.parametrize(
    ("config", "act"),
    [
        (EnvConfig(max_pieces=300), heuristic),
        (EnvConfig(randomizer="uniform", max_pieces=200, reward_multi=0.5), heuristic),
        (EnvConfig(rules="research", height=10, randomizer="uniform", max_pieces=400), heuristic),
        (EnvConfig(rules="research", height=20, randomizer="uniform", max_pieces=0), weak),
    ],
)
def test_same_games_as_the_batched_env(config: EnvConfig, act) -> None:
    n, seed = 12, 7
    run = play_greedy(act, n, config, seed=seed, max_pieces=config.max_pieces)
    got = [(r.lines, r.pieces, r.reward, r.capped) for r in run.results]
    expected = first_games(config, n, seed, act)
    assert [g[:2] + g[3:] for g in got] == [e[:2] + e[3:] for e in expected]
    np.testing.assert_allclose([g[2] for g in got], [e[2] for e in expected], rtol=1e-9)
    assert run.placements == sum(g[1] for g in got)
    assert any(g[0] > 0 for g in got)


def test_on_step_stops_early() -> None:
    calls = []
    run = play_greedy(
        heuristic, 4, EnvConfig(), seed=1, on_step=lambda s, f: calls.append(s) or s >= 5
    )
    assert calls == [1, 2, 3, 4, 5] and run.results == []


def test_a_stop_can_keep_the_unfinished_games_as_capped() -> None:
    """A scoring budget cuts games off: their lines so far stand, marked capped."""
    run = play_greedy(
        heuristic, 4, EnvConfig(), seed=1, on_step=lambda s, f: s >= 50, keep_unfinished=True
    )
    assert len(run.results) == 4 and all(r.capped and r.pieces == 50 for r in run.results)
    assert sum(r.lines for r in run.results) > 0
    assert run.placements == 200
