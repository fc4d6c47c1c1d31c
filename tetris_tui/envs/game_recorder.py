"""The placements of every batched training game, kept so the best one can be replayed.

``PlacementVecEnv`` writes each game's locked pieces (piece, action, landing
row: three bytes) into arrays with one fancy-index assignment per step. Only
when a game ends above the worker's bar (``record_above``, the best game on
record) are its pieces copied out (``RecordedGame``); the ``ReplayGame`` (a
Python loop over its pieces) is built only for the one that gets written.
Games longer than the capacity are not recorded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
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
    ) -> RecordedGame:
        """Game ``i``'s placements, copied out as they are: ``replay()`` builds the replay.

        A copy of three short arrays: early in training a new best game ends every
        few steps, and building each replay here cost training ~0.4 % though
        only the newest is ever written (``worker/best_replay.py``).
        """
        count = int(self.count[i])
        return RecordedGame(
            lines=lines,
            pieces=count,
            piece=self.piece[i, :count].copy(),
            action=self.action[i, :count].copy(),
            landing=self.landing[i, :count].copy(),
            final_board=final_board,
            capped=capped,
            env=env,
            stack=self.stack,
            recorded_at=time.time(),
        )


@dataclass(frozen=True, eq=False)
class RecordedGame:
    """A training game as its locked pieces (piece, action, landing row each)."""

    lines: int
    pieces: int
    piece: np.ndarray
    action: np.ndarray
    landing: np.ndarray
    final_board: bytes
    capped: bool
    env: dict[str, Any]
    stack: PieceStack
    recorded_at: float

    def replay(self) -> ReplayGame:
        """The game as a replay (``source`` "training"): its placements and final board.

        There is no seed to replay it in the engine (a training game's pieces come
        from a generator that runs on across games); its placements replay it.
        """
        stack = self.stack
        placements = []
        columns = (self.piece.tolist(), self.action.tolist(), self.landing.tolist())
        for p, a, y in zip(*columns, strict=True):
            rows = y + stack.rows[:, p, a]
            cols = stack.cols[:, p, a]
            cells = tuple(int(v) for pair in zip(rows, cols, strict=True) for v in pair)
            placements.append(Placement(int(stack.ids[p]), a % 4, a // 4, y, cells))
        return ReplayGame(
            lines=self.lines,
            pieces=len(placements),
            placements=tuple(placements),
            final_board=self.final_board,
            source="training",
            env=self.env,
            capped=self.capped,
            recorded_at=self.recorded_at,
        )
