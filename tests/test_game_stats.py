"""Per-game totals on the real tetris-gymnasium env."""

from __future__ import annotations

import numpy as np

from tetris_tui.config import EnvConfig
from tetris_tui.envs import make_env


def _play(env, rng, max_steps=20_000):
    per_step_lines, locks, rewards = [], 0, 0.0
    for _ in range(max_steps):
        _, reward, terminated, truncated, info = env.step(int(rng.integers(env.action_space.n)))
        per_step_lines.append(info["lines_cleared"])
        locks += int(info["piece_locked"])
        rewards += reward
        if terminated or truncated:
            return per_step_lines, locks, rewards, info
    raise AssertionError("game did not end")


def test_raw_game_lines_are_the_sum_of_per_step_lines():
    env = make_env(EnvConfig(kind="raw"))
    rng = np.random.default_rng(3)
    total_lines = 0
    # Mostly hard drops and sideways moves clear lines now and then.
    for seed in range(1, 40):
        env.reset(seed=seed)
        steps, locks, rewards, info = _play(env, rng)
        game = info["game"]
        assert game["lines"] == sum(steps)
        assert game["pieces"] == locks > 0
        assert game["length"] == len(steps)
        assert abs(game["reward"] - rewards) < 1e-6
        total_lines += game["lines"]
    frame = env.board_frame()
    assert len(frame["cells"]) == 200


def test_max_pieces_truncates_and_marks_the_game_capped():
    env = make_env(EnvConfig(kind="raw", max_pieces=3))
    env.reset(seed=5)
    rng = np.random.default_rng(0)
    while True:
        _, _, terminated, truncated, info = env.step(5 if rng.random() < 0.5 else 7)
        if terminated or truncated:
            break
    assert info["game"]["pieces"] <= 3
    if truncated:
        assert info["game"]["capped"] is True
