"""Greedy evaluation games with a small real PPO."""

from __future__ import annotations

from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv

from tetris_tui.config import EnvConfig
from tetris_tui.envs import make_env
from tetris_tui.policy import placement_ppo_kwargs
from tetris_tui.worker.evaluate import GameResult, play_games, summarize


def trained_model() -> PPO:
    venv = DummyVecEnv([lambda: make_env(EnvConfig(), seed=1)])
    kwargs = placement_ppo_kwargs()
    model = PPO(
        kwargs["policy"],
        venv,
        policy_kwargs=kwargs["policy_kwargs"],
        n_steps=128,
        batch_size=64,
        n_epochs=2,
        seed=1,
        device="cpu",
    )
    model.learn(256)
    return model


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
