"""The placements of every batched training game, kept so the best one can be replayed.

``PlacementVecEnv`` writes each game's locked pieces (piece, action, landing
row: three bytes) into arrays with one fancy-index assignment per step. Only
when a game ends above the worker's bar (``record_above``, the best game on
record) is it turned into a ``ReplayGame``: a Python loop over its pieces,
rare by construction. Games longer than the capacity are not recorded.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from tetris_tui.envs.batch_afterstates import PieceStack
from tetris_tui.replay import Placement, ReplayGame

# Pieces kept per game when the env has no cap on a game's length.
DEFAULT_CAPACITY = 10_000


class GameRecorder:
    """Locked pieces of ``n`` games, up to ``capacity`` each."""

    def __init__(self, n: int, capacity: int, stack: PieceStack) -> None:
        self.stack = stack
        self.capacity = capacity
        self.piece = np.zeros((n, capacity), dtype=np.int8)
        self.action = np.zeros((n, capacity), dtype=np.int8)
        self.landing = np.zeros((n, capacity), dtype=np.int8)
        self.count = np.zeros(n, dtype=np.int64)

    def lock(
        self, games: np.ndarray, piece: np.ndarray, action: np.ndarray, landing_y: np.ndarray
    ) -> None:
        """One locked piece in each of ``games`` (past the capacity only counted)."""
        at = self.count[games]
        self.count[games] = at + 1
        room = at < self.capacity
        if not room.all():
            games, piece, action, landing_y, at = (
                v[room] for v in (games, piece, action, landing_y, at)
            )
        self.piece[games, at] = piece
        self.action[games, at] = action
        self.landing[games, at] = landing_y

    def clear(self, games: int | np.ndarray) -> None:
        self.count[games] = 0

    def complete(self, i: int) -> bool:
        """Whether every piece game ``i`` locked was kept."""
        return int(self.count[i]) <= self.capacity

    def record(
        self, i: int, lines: int, final_board: bytes, capped: bool, env: dict[str, Any]
    ) -> ReplayGame:
        """Game ``i`` as a replay (``source`` "training"): its placements and final board.

        There is no seed to replay it in the engine (a training game's pieces come
        from a generator that runs on across games); its placements replay it.
        """
        stack = self.stack
        placements = []
        for k in range(int(self.count[i])):
            p, a, y = int(self.piece[i, k]), int(self.action[i, k]), int(self.landing[i, k])
            rows = y + stack.rows[:, p, a]
            cols = stack.cols[:, p, a]
            cells = tuple(int(v) for pair in zip(rows, cols, strict=True) for v in pair)
            placements.append(Placement(int(stack.ids[p]), a % 4, a // 4, y, cells))
        return ReplayGame(
            lines=lines,
            pieces=len(placements),
            placements=tuple(placements),
            final_board=final_board,
            source="training",
            env=env,
            capped=capped,
            recorded_at=time.time(),
        )
