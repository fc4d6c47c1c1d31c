"""The placement env against tetris-gymnasium's own GroupedActionsObservations.

The differential tests play both envs in lockstep from the same seeds (>= 1: seed 0
means "no seed" to tetris-gymnasium) and compare, state by state, the legal masks
and the board every one of the 40 placements leaves. Random dense boards reaching
the top add the rare cases: pieces starting inside the stack, and blocked spawns.
"""

from __future__ import annotations

import numpy as np
import pytest
from tetris_gymnasium.envs.tetris import Tetris
from tetris_gymnasium.wrappers.grouped import GroupedActionsObservations

from tetris_tui.config import EnvConfig
from tetris_tui.envs import make_env
from tetris_tui.envs.features import FEATURE_INDEX, N_ACTIONS, N_FEATURES, columns_to_board
from tetris_tui.envs.placement import PlacementEnv

# A rough Dellacherie-style scorer, so lockstep games live long and clear lines.
WEIGHTS = np.zeros(N_FEATURES, dtype=np.float32)
for name, weight in {
    "landing_height": -4.5,
    "eroded_cells": 3.4,
    "row_transitions": -3.2,
    "col_transitions": -9.3,
    "holes": -7.9,
    "wells": -3.4,
    "game_over": -100.0,
}.items():
    WEIGHTS[FEATURE_INDEX[name]] = weight * 20


def reference_env() -> GroupedActionsObservations:
    return GroupedActionsObservations(Tetris(), terminate_on_illegal_action=True)


def choose(obs: np.ndarray, rng: np.random.Generator, greedy: float) -> int:
    legal = np.flatnonzero(obs[:, -1])
    if rng.random() < greedy:
        scores = obs[legal, :N_FEATURES] @ WEIGHTS
        return int(legal[np.argmax(scores)])
    return int(rng.choice(legal))


def compare_state(ours: PlacementEnv, ref: GroupedActionsObservations, ref_obs: np.ndarray) -> None:
    """Masks and all 40 afterstate boards agree; game-over placements are flagged."""
    after = ours.afterstates
    assert after is not None
    np.testing.assert_array_equal(after.legal, ref.legal_actions_mask.astype(bool))
    for a in np.flatnonzero(after.legal):
        expected = ref_obs[a]
        if after.blocked[a]:
            # Blocked (the piece collides where it starts): the engine ends the game
            # without placing it. The wrapper shows an all-zero board, or, when its
            # drop loop tunnels through the stack, the board it would tunnel to.
            assert after.game_over[a]
            np.testing.assert_array_equal(ours.afterstate_board(a), ours.unwrapped.board)
            if expected.any():
                np.testing.assert_array_equal(ours.afterstate_board(a, True), expected)
            continue
        np.testing.assert_array_equal(ours.afterstate_board(a), expected, err_msg=f"action {a}")
        np.testing.assert_array_equal(
            columns_to_board(after.columns[a]), expected[:20, 4:14] != 0, err_msg=f"action {a}"
        )


@pytest.mark.parametrize("seeds", [range(1, 7), range(7, 13)])
def test_lockstep_games_match_grouped_wrapper(seeds: range) -> None:
    ours, ref = PlacementEnv(), reference_env()
    states = 0
    for seed in seeds:
        rng = np.random.default_rng(seed)
        greedy = 0.95 if seed % 2 else 0.6
        obs, info = ours.reset(seed=seed)
        ref_obs, ref_info = ref.reset(seed=seed)
        for _ in range(110 if seed % 2 else 50):
            compare_state(ours, ref, ref_obs)
            states += 1
            np.testing.assert_array_equal(info["action_mask"], ref_info["action_mask"] > 0)
            a = choose(obs, rng, greedy)
            ends = bool(ours.afterstates.game_over[a])
            obs, reward, term, trunc, info = ours.step(a)
            ref_obs, _, ref_term, _, ref_info = ref.step(a)
            assert term == ref_term == ends
            assert info["lines_cleared"] == ref_info["lines_cleared"]
            assert info["piece_locked"] is True
            np.testing.assert_array_equal(ours.unwrapped.board, ref.unwrapped.board)
            assert ours.unwrapped.active_tetromino.id == ref.unwrapped.active_tetromino.id
            if term:
                break
    assert states > 300


def test_random_dense_boards_match_grouped_wrapper() -> None:
    """Boards filled up to the top: pieces spawning inside the stack, tunnelling drops."""
    ours, ref = PlacementEnv(), reference_env()
    ours.reset(seed=1)
    ref.reset(seed=1)
    rng = np.random.default_rng(123)
    blocked = 0
    for i in range(450):
        board = Tetris().create_board()
        top = int(rng.integers(0, 16))
        density = rng.uniform(0.2, 0.9)
        cells = rng.random((20 - top, 10)) < density
        board[top:20, 4:14] = np.where(cells, rng.integers(2, 9, cells.shape), 0)
        piece = int(rng.integers(0, 7))
        for engine in (ours.unwrapped, ref.unwrapped):
            engine.board = board.copy()
            engine.game_over = False
            engine.active_tetromino = engine.tetrominoes[piece]
            engine.reset_tetromino_position()
        ours.observe()
        ref_obs = ref.observation(ref.unwrapped._get_obs())
        compare_state(ours, ref, ref_obs)
        blocked += int(ours.afterstates.blocked.any())
        if i % 7 == 0:
            # Stepping a random legal placement agrees on termination and board too.
            a = int(rng.choice(np.flatnonzero(ours.afterstates.legal)))
            _, _, term, _, info = ours.step(a)
            _, _, ref_term, _, ref_info = ref.step(a)
            assert term == ref_term
            assert info["lines_cleared"] == ref_info["lines_cleared"]
            np.testing.assert_array_equal(ours.unwrapped.board, ref.unwrapped.board)
    assert blocked > 30


def test_reset_is_deterministic_per_seed() -> None:
    def play(seed: int) -> list[tuple[int, float, int]]:
        env = make_env(EnvConfig(), seed=seed)
        obs, _ = env.reset(seed=seed)
        rng = np.random.default_rng(0)
        trace = []
        for _ in range(200):
            a = choose(obs, rng, 0.8)
            obs, reward, term, trunc, info = env.step(a)
            trace.append((a, reward, info["lines_cleared"]))
            if term or trunc:
                obs, _ = env.reset()
        return trace

    assert play(5) == play(5)
    assert play(5) != play(6)


def test_observation_mask_info_and_line_totals() -> None:
    config = EnvConfig()
    env = make_env(config)
    obs, info = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    assert obs.shape == (N_ACTIONS, N_FEATURES + 1)
    rng = np.random.default_rng(3)
    lines = games = steps = 0
    while games < 2:
        np.testing.assert_array_equal(obs[:, -1] > 0, info["action_mask"])
        assert not obs[obs[:, -1] == 0].any(), "illegal rows carry no features"
        a = choose(obs, rng, 0.9)
        obs, reward, term, trunc, info = env.step(a)
        steps += 1
        assert info["piece_locked"] is True
        n = info["lines_cleared"]
        lines += n
        expected = config.reward_line * n + config.reward_multi * (n * n - n)
        expected += config.reward_game_over if term else config.reward_alive
        assert reward == pytest.approx(expected)
        mask = env.get_wrapper_attr("last_placed_mask")
        assert mask.shape == (20, 10) and mask.sum() <= 4
        frame = env.board_frame()
        assert len(frame["cells"]) == 200
        if term or trunc:
            assert info["game"]["lines"] == lines
            games += 1
            lines = 0
            obs, info = env.reset()
    assert steps > 100


def test_illegal_action_ends_the_game() -> None:
    env = PlacementEnv()
    obs, info = env.reset(seed=2)
    illegal = int(np.flatnonzero(~info["action_mask"])[0])
    _, reward, term, _, info = env.step(illegal)
    assert term and info["illegal_action"] and not info["piece_locked"]
    assert reward == EnvConfig().reward_game_over


def test_game_over_placement_is_flagged_not_empty() -> None:
    env = PlacementEnv()
    env.reset(seed=4)
    engine = env.unwrapped
    engine.board[2:20, 4:13] = 2  # nearly full up to row 2, column 9 free
    obs = env.observe()
    over = obs[:, FEATURE_INDEX["game_over"]]
    legal = obs[:, -1] > 0
    assert (over[legal] == 1).any()
    assert obs[legal & (over == 1), FEATURE_INDEX["max_height"]].min() > 0


def wrapper_step(engine: Tetris, action: int) -> tuple[bool, int]:
    """GroupedActionsObservations.step without its (slow) observation: rotate, shift, drop."""
    x, r = divmod(action, 4)
    tetromino = engine.active_tetromino
    for _ in range(r):
        tetromino = engine.rotate(tetromino)
    engine.x = x + engine.padding - engine.active_tetromino.matrix.shape[1] // 2
    engine.active_tetromino = tetromino
    _, _, terminated, _, info = engine.step(engine.actions.hard_drop)
    return terminated, info["lines_cleared"]


def test_many_steps_match_the_engine() -> None:
    """Thousands of placements against the bare engine driven the wrapper's way."""
    ours, engine = PlacementEnv(), Tetris()
    rng = np.random.default_rng(99)
    steps = lines = 0
    for seed in range(100, 220):
        obs, _ = ours.reset(seed=seed)
        engine.reset(seed=seed)
        greedy = (0.0, 0.5, 0.9)[seed % 3]
        while True:
            a = choose(obs, rng, greedy)
            obs, _, term, _, info = ours.step(a)
            ref_term, ref_lines = wrapper_step(engine, a)
            steps += 1
            lines += ref_lines
            assert (term, info["lines_cleared"]) == (ref_term, ref_lines)
            np.testing.assert_array_equal(ours.unwrapped.board, engine.board)
            if term or steps % 200 == 0:
                break
    assert steps > 2500 and lines > 300
