"""The research rules: MDPTetris' "simplified" game, the rules of the published Tetris results.

As ``board_drop_piece`` and ``game_drop_piece`` in brunoscherrer/mdptetris
(``src/board.c``, ``src/game.c``, ``tetris_implementation = 0``,
``allow_lines_after_overflow = 0``) play it:

- Pieces: the 7 tetrominoes, each drawn uniformly and independently
  (``UniformStreams``); only the active piece is known (no preview).
- Legal: every distinct rotation at every column where the piece lies within
  the 10 columns, whatever the stack (9 placements for O, 17 for I, S and Z,
  34 for T, J and L). Repeated rotations (O turned, I turned twice) are masked.
- Landing: the piece comes straight down from above the stack, nothing in its
  way, and rests on the highest cell under any of its columns.
- Clearing: full rows are cleared only when the whole piece lies inside the
  board.
- Game over: the stack after the move is higher than the board, i.e. the
  piece sticks out above row ``height``; such a placement clears nothing and
  is not drawn (``blocked``).
- Board: 10 wide, 10 or 20 high.

Boards are column bitmasks with bit 0 the bottom row, as in the other rule
set, and the observation's features are computed by the same code
(``board_features_t``), so one policy network plays both.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tetris_tui.envs.batch_afterstates import (
    BatchAfterstates,
    _clear_rows,
    board_features_t,
    stack_tables,
)
from tetris_tui.envs.features import _HEIGHT_OF, N_ACTIONS, N_FEATURES, build_piece_tables
from tetris_tui.envs.uniform_streams import UniformStreams
from tetris_tui.rules.base import DEFAULT_HEIGHT, HEIGHTS, PieceStreams
from tetris_tui.rules.pieces import N_PIECES, TETROMINOES, WIDTH, distinct_in_width

_U = np.uint32
_ABSENT = np.int32(1 << 10)  # "no cell in this column": never the highest constraint


class ResearchRules:
    """MDPTetris' simplified rules on a 10-wide board ``height`` rows high."""

    name = "research"
    randomizer = "uniform"
    preview = 0

    def __init__(self, height: int = DEFAULT_HEIGHT) -> None:
        self.height = height
        legal = distinct_in_width()
        tables = build_piece_tables(list(TETROMINOES))
        stack = stack_tables(tables)
        self.stack = dataclasses.replace(stack, legal=legal, scales=stack.scales * legal[None])
        # Per placement: the matrix row of its lowest cell, its height in rows, and per
        # column the lowest cell above the piece's bottom and the cells as bits from it.
        self.bottom_row = np.zeros((N_PIECES, N_ACTIONS), dtype=np.int32)
        self.piece_height = np.zeros((N_PIECES, N_ACTIONS), dtype=np.int32)
        self.low = np.full((WIDTH, N_PIECES, N_ACTIONS), _ABSENT, dtype=np.int32)
        self.bits = np.zeros((WIDTH, N_PIECES, N_ACTIONS), dtype=_U)
        for p in range(N_PIECES):
            for a in np.flatnonzero(legal[p]):
                rows, cols = stack.rows[:, p, a], stack.cols[:, p, a]
                bottom = int(rows.max())
                self.bottom_row[p, a] = bottom
                self.piece_height[p, a] = bottom - int(rows.min()) + 1
                for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
                    up = bottom - r
                    self.low[c, p, a] = min(int(self.low[c, p, a]), up)
                    self.bits[c, p, a] |= _U(1 << up)
        self._mean_up = (self.bottom_row - stack.mean_row + 1).astype(np.float32)

    def afterstates(
        self, board: np.ndarray, piece: np.ndarray, next_piece: np.ndarray
    ) -> BatchAfterstates:
        """All 40 placements of ``piece[i]`` on ``board[i]``; ``next_piece`` plays no part."""
        n, h = board.shape[0], self.height
        m = n * N_ACTIONS
        legal = self.stack.legal[piece]
        tops = _HEIGHT_OF[board].T[:, :, None]  # (10, n, 1) column heights
        # The row the piece's bottom rests on: the highest column top under it.
        bottom = np.maximum((tops - self.low[:, piece]).max(axis=0), 0)  # (n, 40)
        over = (bottom + self.piece_height[piece] > h) & legal
        placed = self.bits[:, piece] << bottom.astype(_U)
        columns = np.ascontiguousarray(board.T[:, :, None] | placed)  # (10, n, 40)
        if over.any():  # not placed: the board stays as it was (no row is full on it)
            g, a = np.nonzero(over)
            columns[:, g, a] = board[g].T
        full = np.bitwise_and.reduce(columns, axis=0)
        lines = np.bitwise_count(full)
        feats = np.empty((N_FEATURES, n, N_ACTIONS), dtype=np.float32)
        feats[11] = 0.0
        if lines.any():
            hit = np.flatnonzero(full)
            eroded = np.bitwise_count(placed.reshape(-1, m)[:, hit] & full.ravel()[hit])
            feats[11].ravel()[hit] = lines.ravel()[hit] * eroded.sum(axis=0)
            _clear_rows(columns.reshape(-1, m), full.ravel())
        feats[10] = lines
        feats[9] = bottom + self._mean_up[piece]  # mean height of the piece's cells
        feats[12] = over
        board_features_t(columns.reshape(-1, m), feats.reshape(N_FEATURES, m))
        feats *= self.stack.scales[:, piece]
        obs = np.empty((n, N_ACTIONS, N_FEATURES + 1), dtype=np.float32)
        obs[:, :, :N_FEATURES] = feats.transpose(1, 2, 0)
        obs[:, :, N_FEATURES] = legal
        landing_y = h - 1 - bottom - self.bottom_row[piece]  # the matrix's top, from the top
        return BatchAfterstates(legal, landing_y, over, over, lines, full, columns, obs)

    def new_streams(self, n: int) -> PieceStreams:
        return UniformStreams(n)


def build(height: int = DEFAULT_HEIGHT, randomizer: str = "uniform") -> ResearchRules:
    if height not in HEIGHTS:
        raise ValueError(f"the research board is 10 or 20 rows high, got {height}")
    if randomizer != "uniform":
        raise ValueError("the research rules deal pieces uniformly")
    return ResearchRules(height)
