"""Per-game totals on the real tetris-gymnasium env."""

from __future__ import annotations

import copy

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


def _fill_bottom_row_around_the_first_drop(env) -> None:
    """Fill the bottom row except where the falling piece will land if hard-dropped now,
    so the first hard drop clears a line (random play alone almost never does)."""
    probe = copy.deepcopy(env)
    probe.step(HARD_DROP)
    engine, probed = env.unwrapped, probe.unwrapped
    pad = engine.padding
    bottom = engine.height - 1
    landed = probed.board[bottom, pad : pad + engine.width] != 0
    engine.board[bottom, pad : pad + engine.width] = np.where(landed, 0, 1)


HARD_DROP = 5


def test_raw_game_lines_are_the_sum_of_per_step_lines():
    env = make_env(EnvConfig(kind="raw"))
    rng = np.random.default_rng(3)
    total_lines = 0
    games = 0
    for seed in range(1, 40):
        env.reset(seed=seed)
        _fill_bottom_row_around_the_first_drop(env)
        first = env.step(HARD_DROP)
        assert first[4]["lines_cleared"] == 1
        steps, locks, rewards, info = _play(env, rng)
        steps, locks, rewards = [1, *steps], locks + 1, rewards + first[1]
        game = info["game"]
        assert game["lines"] == sum(steps)
        assert game["pieces"] == locks > 0
        assert game["length"] == len(steps)
        assert abs(game["reward"] - rewards) < 1e-6
        total_lines += game["lines"]
        games += 1
    assert total_lines >= games  # every game cleared at least its first line
    frame = env.board_frame()
    assert len(frame["cells"]) == 200


def _hard_drop_until_the_end(env) -> tuple[bool, bool, dict]:
    for _ in range(2_000):
        _, _, terminated, truncated, info = env.step(HARD_DROP)
        if terminated or truncated:
            return terminated, truncated, info
    raise AssertionError("game did not end")


def test_max_pieces_truncates_and_marks_the_game_capped():
    # Three hard drops on an empty board cannot top out: the cap ends this game.
    env = make_env(EnvConfig(kind="raw", max_pieces=3))
    env.reset(seed=5)
    terminated, truncated, info = _hard_drop_until_the_end(env)
    assert (terminated, truncated) == (False, True)
    assert info["game"]["pieces"] == 3
    assert info["game"]["capped"] is True
    # Hard drops in the middle top out long before 1,000 pieces: lost, not capped.
    env = make_env(EnvConfig(kind="raw", max_pieces=1_000))
    env.reset(seed=5)
    terminated, truncated, info = _hard_drop_until_the_end(env)
    assert (terminated, truncated) == (True, False)
    assert 0 < info["game"]["pieces"] < 1_000
    assert info["game"]["capped"] is False
