"""Greedy evaluation games with a small real PPO."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from conftest import boards_in_play

from tetris_tui.config import Config, EnvConfig, PPOConfig
from tetris_tui.envs import make_env
from tetris_tui.policy.lean_ppo import LeanPPO
from tetris_tui.replay import BEST_REPLAY, REPLAYS_DIR
from tetris_tui.worker.evaluate import GameResult, _batched_actions, play_games, summarize
from tetris_tui.worker.model_factory import build_vec_env, new_model
from tetris_tui.worker.periodic_eval import PeriodicEvaluator

ROLLOUT = 16 * 32  # n_envs x n_steps below


def _config(run_dir: Path | None = None) -> Config:
    """Small, seeded, and with a weight average short enough to differ from the live weights."""
    ppo = PPOConfig(n_steps=32, batch_size=128, n_epochs=1, greedy_average_steps=ROLLOUT * 3)
    config = Config(seed=5, torch_threads=1, n_envs=16, ppo=ppo, eval_games=4)
    return config if run_dir is None else config.replace(run_dir=run_dir)


@functools.cache
def trained_model() -> LeanPPO:
    """The product's model (``new_model``: a ``LeanPPO``), briefly trained; shared, read-only."""
    config = _config()
    model = new_model(config, build_vec_env(config))
    assert isinstance(model, LeanPPO)
    model.learn(ROLLOUT * 8)
    return model


def _greedy_game(predict: Any, seed: int, max_pieces: int) -> list[int]:
    """The actions of one single-env game played by ``predict(obs) -> action``."""
    env = make_env(EnvConfig(max_pieces=max_pieces))
    obs, _ = env.reset(seed=seed)
    actions = []
    while True:
        actions.append(int(predict(obs)))
        obs, _, terminated, truncated, _ = env.step(actions[-1])
        if terminated or truncated:
            return actions


def test_play_games_results_and_cap() -> None:
    model = trained_model()
    calls: list[tuple[int, int]] = []
    results = play_games(
        model, 4, EnvConfig(), seed=1, max_pieces=30, on_step=lambda s, f: calls.append((s, f))
    )
    assert len(results) == 4
    assert all(isinstance(r, GameResult) for r in results)
    for r in results:
        assert 1 <= r.pieces <= 30
        assert r.capped == (r.pieces == 30)
        assert r.lines >= 0
    assert calls and calls[-1][1] == 4
    assert [s for s, _ in calls] == list(range(1, len(calls) + 1))
    # Greedy play from the same seeds repeats exactly.
    assert play_games(model, 4, EnvConfig(), seed=1, max_pieces=30) == results
    summary = summarize(results)
    assert summary["games"] == 4 and summary["max"] >= summary["mean"] >= 0


def test_on_step_can_stop_early() -> None:
    model = trained_model()
    results = play_games(model, 2, EnvConfig(), seed=3, max_pieces=0, on_step=lambda s, f: s >= 2)
    assert results == []


def test_batched_games_equal_one_env_per_game() -> None:
    """Placement games run in one PlacementVecEnv; each must equal its own make_env game."""
    model = trained_model()
    results = play_games(model, 5, EnvConfig(), seed=4, max_pieces=60)
    for i, result in enumerate(results):
        env = make_env(EnvConfig(max_pieces=60))
        obs, _ = env.reset(seed=4 + i)
        while True:
            action, _ = model.predict(obs[None], deterministic=True)
            obs, _, terminated, truncated, info = env.step(int(action[0]))
            if terminated or truncated:
                break
        game = info["game"]
        assert (result.lines, result.pieces, result.capped) == (
            game["lines"],
            game["pieces"],
            game["capped"],
        )
        assert result.reward == game["reward"]


def test_evaluation_plays_the_averaged_weights_as_predict_does() -> None:
    """Greedy play is ``predict(deterministic=True)``: the averaged weights, not the live ones."""
    model = trained_model()
    env = build_vec_env(_config())
    try:
        obs = boards_in_play(model, env)
    finally:
        env.close()
    expected, _ = model.predict(obs, deterministic=True)
    live, _ = model.policy.predict(obs, deterministic=True)
    assert not np.array_equal(live, expected)  # seeded: the two choose differently here
    assert np.array_equal(_batched_actions(model, deterministic=True)(obs), expected)


def test_the_recorded_best_game_is_the_one_predict_plays(tmp_path: Path) -> None:
    """An evaluation's best game on disk is replayed move for move by ``predict``."""
    model = trained_model()
    config = _config(tmp_path)
    evaluator = PeriodicEvaluator(config, SimpleNamespace(extra={}))
    assert evaluator(model, model.num_timesteps) is not None
    recorded = json.loads((tmp_path / REPLAYS_DIR / BEST_REPLAY).read_text())
    assert recorded["source"] == "eval"

    def averaged(obs: np.ndarray) -> int:
        return int(model.predict(obs[None], deterministic=True)[0][0])

    def live(obs: np.ndarray) -> int:
        return int(model.policy.predict(obs[None], deterministic=True)[0][0])

    seed, cap = recorded["seed"], 2_000
    assert recorded["actions"] == _greedy_game(averaged, seed, cap)
    assert recorded["actions"] != _greedy_game(live, seed, cap)  # so the check can fail
