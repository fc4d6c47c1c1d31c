"""PlacementVecEnv against N PlacementEnvs on tetris-gymnasium's engine, in lockstep.

The reference is the stack the batched env replaces: ``DummyVecEnv`` over
``make_env`` (GameStatsWrapper(PlacementEnv)), whose boards, pieces and
randomizer are tetris-gymnasium's own. Both get the same actions (mostly a noisy
heuristic so games live long and clear lines, some random legal moves, some
illegal or out-of-range ones) and must agree on every observation, reward, done,
info and board, through game ends, piece caps and auto-resets.
"""

from __future__ import annotations

import numpy as np
import pytest
from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor
from test_placement_env import WEIGHTS

from tetris_tui.config import EnvConfig
from tetris_tui.envs import make_env
from tetris_tui.envs.batch_afterstates import batch_afterstates, stack_tables
from tetris_tui.envs.features import N_FEATURES, board_to_columns, build_piece_tables
from tetris_tui.envs.placement_vec import PlacementVecEnv, engine_tetrominoes

N = 16


def actions_for(obs: np.ndarray, rng: np.random.Generator, noise: float) -> np.ndarray:
    scores = obs[:, :, :N_FEATURES] @ WEIGHTS + rng.normal(0.0, noise, obs.shape[:2])
    scores[obs[:, :, -1] == 0] = -np.inf
    actions = scores.argmax(axis=1)
    r = rng.random(len(actions))
    random_legal = r < 0.05
    for i in np.flatnonzero(random_legal):
        actions[i] = rng.choice(np.flatnonzero(obs[i, :, -1]))
    actions[r > 0.998] = rng.integers(0, 40, int((r > 0.998).sum()))  # often illegal
    actions[(r > 0.9975) & (r <= 0.998)] = 41  # out of range
    return actions


def compare_infos(ref_infos: list[dict], infos: list[dict], dones: np.ndarray) -> int:
    games = 0
    for i, (ref, ours) in enumerate(zip(ref_infos, infos, strict=True)):
        assert ours["lines_cleared"] == ref["lines_cleared"]
        if dones[i]:
            games += 1
            assert ours["game"] == ref["game"]
            assert ours["TimeLimit.truncated"] == ref["TimeLimit.truncated"]
            np.testing.assert_array_equal(ours["terminal_observation"], ref["terminal_observation"])
    return games


@pytest.mark.parametrize(
    ("seed", "noise", "config"),
    [
        (1, 3.0, EnvConfig(max_pieces=250)),
        (40, 8.0, EnvConfig(reward_multi=0.5, reward_alive=0.2, reward_game_over=-2.0)),
        (900, 1.0, EnvConfig(max_pieces=400)),
    ],
)
def test_lockstep_with_placement_envs(seed: int, noise: float, config: EnvConfig) -> None:
    ref = DummyVecEnv([lambda: make_env(config) for _ in range(N)])
    ours = PlacementVecEnv(N, config)
    ref.seed(seed)
    ours.seed(seed)
    ref_obs, obs = ref.reset(), ours.reset()
    rng = np.random.default_rng(seed)
    games = lines = blocked = 0
    for t in range(700):
        np.testing.assert_array_equal(obs, ref_obs, err_msg=f"step {t}")
        np.testing.assert_array_equal(ours.action_masks(), obs[:, :, -1] > 0)
        actions = actions_for(obs, rng, noise)
        assert ours.after is not None
        blocked += int(ours.after.blocked[np.arange(N), np.clip(actions, 0, 39)].sum())
        ref_obs, ref_rewards, ref_dones, ref_infos = ref.step(actions)
        obs, rewards, dones, infos = ours.step(actions)
        np.testing.assert_array_equal(rewards, ref_rewards)
        np.testing.assert_array_equal(dones, ref_dones)
        games += compare_infos(ref_infos, infos, dones)
        lines += sum(info["lines_cleared"] for info in infos)
        for i in range(N):
            engine = ref.envs[i].unwrapped
            np.testing.assert_array_equal(ours.game_board(i), engine.crop_padding(engine.board))
        if t % 25 == 0:
            for i in range(N):
                assert ours.env_method("board_frame", indices=[i]) == ref.env_method(
                    "board_frame", indices=[i]
                )
    assert games >= 10 and lines >= 500 and blocked > 0


def test_dense_boards_score_alike_in_a_batch_and_alone() -> None:
    """Boards up to the top (pieces starting inside the stack, tunnelling, top-outs):
    each game of a batch is scored as it is alone (``PlacementEnv`` scores one)."""
    stack = stack_tables(build_piece_tables(engine_tetrominoes()))
    rng = np.random.default_rng(7)
    n = 300
    occ = np.zeros((n, 20, 10), dtype=bool)
    for i in range(n):
        top = int(rng.integers(0, 18))
        occ[i, top:] = rng.random((20 - top, 10)) < rng.uniform(0.2, 0.95)
    piece, next_piece = rng.integers(0, 7, n), rng.integers(0, 7, n)
    board = board_to_columns(occ)
    batch = batch_afterstates(board, piece, next_piece, stack)
    assert batch.blocked.sum() > 100 and batch.lines.sum() > 100
    for i in range(0, n, 3):
        one = batch_afterstates(board[i : i + 1], piece[i : i + 1], next_piece[i : i + 1], stack)
        for name in ("obs", "legal", "landing_y", "blocked", "game_over", "lines", "full_bits"):
            np.testing.assert_array_equal(getattr(batch, name)[i], getattr(one, name)[0])
        np.testing.assert_array_equal(batch.columns[:, i], one.columns[:, 0])


def test_seeding_repeats_and_unseeded_games_differ() -> None:
    def first_pieces(seed: int | None) -> list[tuple[int, int]]:
        env = PlacementVecEnv(4, seed=seed)
        env.reset()
        return [env.game_pieces(i) for i in range(4)] + [tuple(env.streams.ring[0, :7])]

    assert first_pieces(3) == first_pieces(3)
    assert first_pieces(3) != first_pieces(4)
    runs = {tuple(first_pieces(None)) for _ in range(5)}
    assert len(runs) > 1


def test_ppo_trains_on_it_with_monitor_and_frames() -> None:
    from stable_baselines3 import PPO

    from tetris_tui.policy.placement import placement_ppo_kwargs

    venv = VecMonitor(PlacementVecEnv(8, EnvConfig(max_pieces=50), seed=1))
    kwargs = placement_ppo_kwargs()
    model = PPO(
        kwargs["policy"],
        venv,
        policy_kwargs=kwargs["policy_kwargs"],
        n_steps=64,
        batch_size=128,
        n_epochs=2,
        seed=1,
        device="cpu",
    )
    model.learn(1024)
    assert model.num_timesteps == 1024
    assert len(model.ep_info_buffer) > 0
    frame = venv.env_method("board_frame", indices=[3])[0]
    assert len(frame["cells"]) == 200 and len(frame["next_pieces"]) == 4
    with pytest.raises(AttributeError):
        venv.env_method("no_such_method")
