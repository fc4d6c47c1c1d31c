"""The rolling window of finished games: one batch per step, numbered in order."""

from __future__ import annotations

import math

from tetris_tui.worker.game_stats import WINDOW, RollingGames


def _game(lines: int, reward: float = 1.0, capped: bool = False) -> dict:
    return {
        "lines": lines,
        "reward": reward,
        "pieces": 2 * lines + 3,
        "length": 9,
        "capped": capped,
    }


def test_a_step_s_games_are_numbered_in_order_and_fill_the_window():
    games = RollingGames(episodes=10)
    episodes = games.add_many(
        [(_game(4), 3, 100.0), (_game(6, capped=True), 7, 101.5)], timesteps=512, now=102.0
    )
    assert [e.episode for e in episodes] == [11, 12]
    assert [e.env_index for e in episodes] == [3, 7]
    assert [e.duration_s for e in episodes] == [2.0, 0.5]
    assert [e.capped for e in episodes] == [False, True]
    assert {e.timesteps for e in episodes} == {512} and {e.time for e in episodes} == {102.0}
    assert games.episodes == 12 and games.lines_mean == 5.0 and games.pieces_mean == 13.0


def test_a_non_finite_reward_counts_as_zero_and_the_window_keeps_the_last_hundred():
    games = RollingGames()
    games.add_many([(_game(1, reward=math.nan), 0, 0.0)], timesteps=1, now=1.0)
    assert games.reward_mean == 0.0
    games.add_many([(_game(n), 0, 0.0) for n in range(WINDOW + 20)], timesteps=2, now=2.0)
    assert games.window_full and games.lines_mean == sum(range(20, WINDOW + 20)) / WINDOW
    # One game at a time is the same as a batch of one.
    single = RollingGames()
    assert single.add(_game(3), 5, 1, 0.0).lines == 3 and single.episodes == 1
