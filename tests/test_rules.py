"""The rule sets (tetris_tui/rules): hand-made boards, a reference drop, and the uniform pieces.

The research rules are checked against a direct transcription of MDPTetris'
``board_drop_piece`` (rows as bitmasks, the piece lowered from the wall's height
until it collides) on random boards, and on hand-made boards for the three
rules people get wrong: an overflowing placement ends the game, a row is not
cleared while the piece sticks out above the board, and every placement within
the width is legal even over a column as tall as the board.
"""

from __future__ import annotations

import numpy as np
import pytest
from stable_baselines3.common.vec_env import DummyVecEnv

from tetris_tui.config import ConfigError, EnvConfig
from tetris_tui.envs import make_env
from tetris_tui.envs.features import FEATURE_INDEX, board_to_columns
from tetris_tui.envs.placement_vec import PlacementVecEnv, engine_tetrominoes
from tetris_tui.envs.uniform_streams import UniformStreams
from tetris_tui.rules import rules_for
from tetris_tui.rules.board import place
from tetris_tui.rules.pieces import (
    N_ACTIONS,
    TETROMINOES,
    distinct_in_width,
    in_width,
    placement_cells,
)

I_PIECE = 0  # randomizer index of the I
RESEARCH10 = EnvConfig(rules="research", height=10, randomizer="uniform")


def research(height: int = 10):
    return rules_for(EnvConfig(rules="research", height=height, randomizer="uniform"))


def board_of(rows: list[str], height: int) -> np.ndarray:
    """(1, 10) column bits from text rows (top first, '#' filled), padded up to ``height``."""
    occ = np.zeros((20, 10), dtype=bool)
    for k, row in enumerate(reversed(rows)):
        occ[19 - k] = [ch == "#" for ch in row]
    assert not occ[: 20 - height].any()
    return board_to_columns(occ)[None]


def score(rules, board: np.ndarray, piece: int):
    return rules.afterstates(board, np.array([piece]), np.array([piece]))


def vertical_i_at(column: int) -> int:
    """The (first distinct) action that stands the I piece up in ``column``."""
    legal = distinct_in_width()[I_PIECE]
    (action,) = [
        a for a in range(N_ACTIONS) if legal[a] and (placement_cells(I_PIECE, a)[1] == column).all()
    ]
    return action


# -- MDPTetris' drop, transcribed -----------------------------------------------------------


def reference_drop(occ: np.ndarray, piece: int, action: int, height: int):
    """(lines, game over, board after) by ``board_drop_piece``'s loop; occ is (height, 10)."""
    rows_bits = [
        int(sum(1 << c for c in range(10) if occ[height - 1 - y, c])) for y in range(height)
    ]
    rows_bits += [0] * 8
    mrows, cols = placement_cells(piece, action)
    bottom = mrows.max()
    bricks = {}  # row above the piece's bottom -> bits
    for r, c in zip(mrows.tolist(), cols.tolist(), strict=True):
        bricks[bottom - r] = bricks.get(bottom - r, 0) | (1 << c)
    piece_height = max(bricks) + 1
    wall = max((y + 1 for y in range(height) if rows_bits[y]), default=0)
    dest = wall
    while dest >= 0 and not any(
        rows_bits[dest + i] & bricks.get(i, 0) for i in range(piece_height)
    ):
        dest -= 1
    dest += 1
    for i in range(piece_height):
        rows_bits[dest + i] |= bricks.get(i, 0)
    over = dest + piece_height > height
    lines = 0
    if not over:
        kept = [r for r in rows_bits if r != (1 << 10) - 1]
        lines = len(rows_bits) - len(kept)
        rows_bits = kept + [0] * lines
    after = np.array([[bool(rows_bits[y] >> c & 1) for c in range(10)] for y in range(height)])
    return lines, over, after[::-1]


@pytest.mark.parametrize("height", [10, 20])
def test_research_matches_mdptetris_drop_on_random_boards(height: int) -> None:
    rules, rng = research(height), np.random.default_rng(height)
    checked = 0
    for _ in range(60):
        tops = rng.integers(0, height + 1, 10)
        occ = np.zeros((height, 10), dtype=bool)
        for c, t in enumerate(tops):
            occ[height - t :, c] = rng.random(t) < 0.8
            if t:
                occ[height - t, c] = True
        occ[np.flatnonzero(occ.all(axis=1))] = False  # a live board has no full row
        occ[np.flatnonzero(occ.all(axis=1)), 0] = False
        padded = np.zeros((20, 10), dtype=bool)
        padded[20 - height :] = occ
        board = board_to_columns(padded)[None]
        piece = int(rng.integers(7))
        after = score(rules, board, piece)
        for a in np.flatnonzero(after.legal[0]):
            lines, over, expected = reference_drop(occ, piece, int(a), height)
            assert after.game_over[0, a] == over == after.blocked[0, a]
            assert after.lines[0, a] == lines
            if not over:
                got = np.zeros((20, 10), dtype=bool)
                got |= (after.columns[:, 0, a][None, :] >> np.arange(19, -1, -1)[:, None] & 1) > 0
                np.testing.assert_array_equal(got[20 - height :], expected)
                checked += 1
    assert checked > 500


def test_an_overflowing_placement_ends_the_game() -> None:
    rules = research(10)
    board = board_of(["#" + "." * 9] * 7, 10)  # column 0 is 7 high
    after = score(rules, board, I_PIECE)
    assert after.game_over[0, vertical_i_at(0)]  # rows 7..10: the top cell is off the board
    assert not after.game_over[0, vertical_i_at(1)]  # on the floor beside it: fine

    env = PlacementVecEnv(1, RESEARCH10, seed=3)
    env.reset()
    env.board[:] = board[0]
    env.colours.cells[0, 3:, 0] = 4
    env.streams.ring[0, env.streams.pos[0] % 128] = I_PIECE
    env.after = env._afterstates(np.array([0]))
    _, rewards, dones, infos = env.step(np.array([vertical_i_at(0)]))
    assert dones[0] and infos[0]["game"]["pieces"] == 1 and infos[0]["game"]["lines"] == 0
    assert rewards[0] == EnvConfig().reward_game_over


def test_a_row_is_not_cleared_while_the_piece_sticks_out() -> None:
    rules = research(10)
    # Rows 8 and 9 (from the bottom, 1-based) lack only column 0; column 0 is 7 high.
    stack = ["." + "#" * 9] * 2 + ["#" + "#" * 8 + "."] * 7
    board = board_of(stack, 10)
    after = score(rules, board, I_PIECE)
    a = vertical_i_at(0)  # fills rows 8..11 of column 0: rows 8, 9 would be full
    assert after.game_over[0, a] and after.lines[0, a] == 0
    # The same two rows one board higher: the piece fits, both rows go.
    tall = research(20)
    after20 = score(tall, board_of(stack, 20), I_PIECE)
    assert not after20.game_over[0, a] and after20.lines[0, a] == 2


def test_every_placement_within_the_width_is_legal_over_a_tall_column() -> None:
    rules = research(10)
    board = board_of(["....#....."] * 10, 10)  # column 4 as tall as the board
    for piece in range(7):
        after = score(rules, board, piece)
        np.testing.assert_array_equal(after.legal[0], distinct_in_width()[piece])
        np.testing.assert_array_equal(after.obs[0, :, -1] > 0, after.legal[0])
        touching = [a for a in np.flatnonzero(after.legal[0]) if after.game_over[0, a]]
        assert touching and not after.game_over[0].all()
        for a in np.flatnonzero(after.legal[0]):  # over: exactly those that touch column 4
            assert after.game_over[0, a] == (4 in placement_cells(piece, int(a))[1])


def test_research_placements_are_mdptetris_count() -> None:
    counts = distinct_in_width().sum(axis=1)
    assert counts.tolist() == [17, 9, 34, 17, 17, 34, 34]
    assert (distinct_in_width() <= in_width()).all()


def test_the_piece_drops_straight_down_from_above() -> None:
    rules = research(10)
    # An overhang: column 5 has a cell 4 high with an empty column below it.
    board = board_of(["....##....", "....#.....", "....#.....", "....#....."], 10)
    after = score(rules, board, I_PIECE)
    a = vertical_i_at(5)
    assert not after.game_over[0, a]
    assert after.obs[0, a, FEATURE_INDEX["landing_height"]] * 20 == pytest.approx(6.5)


def test_pieces_are_the_engines() -> None:
    for ours, theirs in zip(TETROMINOES, engine_tetrominoes(), strict=True):
        assert ours.id == theirs.id
        np.testing.assert_array_equal(ours.matrix, theirs.matrix)


def test_board_place_clears_any_height() -> None:
    board = bytes(9 * 10) + bytes([0] + [3] * 9)  # 10 rows, bottom row missing column 0
    after, lines = place(board, (9, 0), 2)
    assert lines == 1 and after == bytes(100)


def test_bad_rule_combinations_are_one_line_errors() -> None:
    for kwargs in (
        {"rules": "research"},  # the bag
        {"height": 10},  # gymnasium on 10 rows
        {"rules": "nope"},
        {"rules": "research", "randomizer": "uniform", "height": 15},
        {"kind": "raw", "randomizer": "uniform"},
    ):
        with pytest.raises(ConfigError):
            EnvConfig(**kwargs).validate()


# -- tetris-gymnasium's uniform pieces --------------------------------------------------------


def test_uniform_streams_are_the_true_randomizers_draws() -> None:
    from tetris_gymnasium.components.tetromino_randomizer import TrueRandomizer

    ours = UniformStreams(2)
    ours.reset(1, 11)
    theirs = TrueRandomizer(7)
    theirs.reset(11)
    expected = [int(theirs.get_next_tetromino()) for _ in range(400)]
    got = []
    for _ in range(396):
        got.append(int(ours.piece(0, np.array([1]))[0]))
        ours.advance(np.array([1]))
    assert got == expected[:396]
    assert ours.piece(3, np.array([1]))[0] == expected[399]  # the queue, 3 ahead
    # A bag never deals the same piece 3 times in a row; these draws do somewhere.
    assert any(expected[k] == expected[k + 1] == expected[k + 2] for k in range(398))


def test_uniform_engine_really_deals_uniform_pieces() -> None:
    env = make_env(EnvConfig(randomizer="uniform"))
    env.reset(seed=5)
    engine = env.unwrapped
    from tetris_gymnasium.components.tetromino_randomizer import TrueRandomizer

    assert isinstance(engine.randomizer, TrueRandomizer)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(5)))
    draws = [int(rng.integers(0, 7)) for _ in range(5)]
    assert engine.active_tetromino.id == draws[0] + 2
    assert list(engine.queue.get_queue()) == draws[1:]


def test_uniform_lockstep_with_the_engine() -> None:
    """The batched env with uniform pieces against tetris-gymnasium's engine dealing them."""
    from test_placement_vec import actions_for, compare_infos

    config = EnvConfig(randomizer="uniform", max_pieces=300)
    n = 8
    ref = DummyVecEnv([lambda: make_env(config) for _ in range(n)])
    ours = PlacementVecEnv(n, config)
    ref.seed(21)
    ours.seed(21)
    ref_obs, obs = ref.reset(), ours.reset()
    rng = np.random.default_rng(21)
    games = 0
    for t in range(600):
        np.testing.assert_array_equal(obs, ref_obs, err_msg=f"step {t}")
        actions = actions_for(obs, rng, 3.0)
        ref_obs, ref_rewards, ref_dones, ref_infos = ref.step(actions)
        obs, rewards, dones, infos = ours.step(actions)
        np.testing.assert_array_equal(rewards, ref_rewards)
        np.testing.assert_array_equal(dones, ref_dones)
        games += compare_infos(ref_infos, infos, dones)
        for i in range(n):
            np.testing.assert_array_equal(
                ours.game_board(i), ref.envs[i].unwrapped.crop_padding(ref.envs[i].unwrapped.board)
            )
    assert games >= 8  # unseeded games after the first go on with each generator
