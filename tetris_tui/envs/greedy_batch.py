"""Greedy evaluation of many games in one batch, each game dropped from it when it ends.

``PlacementVecEnv`` keeps every slot playing (training wants a fixed batch),
so scoring N games in it steps finished slots until the longest game ends:
game lengths spread about as widely as their mean, so most of that work is
thrown away. Here the boards of the games still playing are the batch: each
step scores their placements with the rule set (``tetris_tui.rules``), asks
``act`` for one action per game (the policy's greedy argmax, one forward pass),
locks them and drops the games that ended. No auto-reset, no infos, no colour
boards: a placement costs the rule's numpy maths and its share of the forward
pass, whatever N. Game ``i`` is seeded ``seed + i``, dealt, rewarded and capped
exactly as game ``i`` of ``PlacementVecEnv(N, config, seed)`` plays it
(``tests/test_greedy_batch.py`` checks it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tetris_tui.config import EnvConfig
from tetris_tui.envs.features import N_ACTIONS, WIDTH
from tetris_tui.rules import rules_for


@dataclass(frozen=True)
class GreedyResult:
    """One finished game (``worker.evaluate.GameResult``'s fields)."""

    lines: int
    pieces: int
    reward: float
    capped: bool


@dataclass(frozen=True)
class GreedyRun:
    """Every game's result (in game order; unfinished ones left out) and the pace."""

    results: list[GreedyResult]
    placements: int
    seconds: float

    @property
    def placements_per_s(self) -> float:
        return self.placements / max(self.seconds, 1e-9)


def play_greedy(
    act: Callable[[np.ndarray], np.ndarray],
    n_games: int,
    config: EnvConfig | None = None,
    seed: int | None = None,
    max_pieces: int = 10_000,
    on_step: Callable[[int, int], Any] | None = None,
    keep_unfinished: bool = False,
) -> GreedyRun:
    """Play ``n_games`` games with ``act(obs (k, 40, F+1)) -> actions (k,)`` to their end.

    ``max_pieces`` caps each game (0 = never). ``on_step(steps, finished)`` is called
    after each step; True stops early. The unfinished games are then left out, or
    with ``keep_unfinished`` counted as capped where they stand (a time budget is a
    cap: their lines so far are a lower bound).
    """
    cfg = config or EnvConfig()
    rules = rules_for(cfg)
    streams = rules.new_streams(n_games)
    for i in range(n_games):
        streams.reset(i, None if seed is None else seed + i)
    board = np.zeros((n_games, WIDTH), dtype=np.uint32)
    lines = np.zeros(n_games, dtype=np.int64)
    pieces = np.zeros(n_games, dtype=np.int64)
    reward = np.zeros(n_games, dtype=np.float64)
    ended = np.zeros(n_games, dtype=bool)
    capped = np.zeros(n_games, dtype=bool)
    live = np.arange(n_games)
    steps = placements = 0
    start = time.perf_counter()
    while live.size:
        after = rules.afterstates(board[live], streams.piece(0, live), streams.piece(1, live))
        a = np.asarray(act(after.obs)).reshape(live.size).astype(np.int64)
        k = np.arange(live.size)
        in_range = (a >= 0) & (a < N_ACTIONS)
        a = np.where(in_range, a, 0)
        legal = in_range & after.legal[k, a]
        lock = legal & ~after.blocked[k, a]
        over = ~legal | after.game_over[k, a]
        cleared = np.where(lock, after.lines[k, a], 0)
        locked = live[lock]
        board[locked] = after.columns[:, k[lock], a[lock]].T
        streams.advance(locked)
        lines[live] += cleared
        pieces[live] += legal
        placements += int(legal.sum())
        r = cfg.reward_line * cleared + cfg.reward_multi * (cleared * cleared - cleared)
        reward[live] += r + np.where(over, cfg.reward_game_over, cfg.reward_alive)
        cap = (pieces[live] >= max_pieces) & ~over if max_pieces else np.zeros_like(over)
        done = over | cap
        ended[live[done]] = True
        capped[live[cap]] = True
        live = live[~done]
        steps += 1
        if on_step is not None and on_step(steps, n_games - live.size):
            if keep_unfinished:
                ended[live] = capped[live] = True
            break
    seconds = time.perf_counter() - start
    results = [
        GreedyResult(int(lines[i]), int(pieces[i]), float(reward[i]), bool(capped[i]))
        for i in np.flatnonzero(ended)
    ]
    return GreedyRun(results, placements, seconds)
