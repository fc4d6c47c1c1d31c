"""All 40 afterstates of N boards at once, by tetris-gymnasium's rules (``rules/gymnasium.py``).

A few dozen numpy calls score N x 40 placements, so the Python cost per
placement drops by N; the single-game env calls it with N = 1. Arrays are
column-major, (10, N, 40) rather than (N, 40, 10): numpy reduces over a short
last axis slowly but over a leading axis as fast as elementwise code, and every
feature is such a reduction over the 10 columns. ``tests/test_placement_env.py``
checks the result against tetris-gymnasium's own ``GroupedActionsObservations``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tetris_tui.envs.features import (
    _HEIGHT_OF,
    _MASK16,
    _PACKED,
    _UNPACK,
    HEIGHT,
    N_ACTIONS,
    N_FEATURES,
    Afterstates,
    PieceTable,
)

_U = np.uint32
_AT_SPAWN = _U(1 << HEIGHT)  # collision bit of the offset y = 0, where the piece spawns
_BELOW_SPAWN = _AT_SPAWN - _U(1)  # collision bits of the offsets y >= 1


@dataclass(frozen=True)
class PieceStack:
    """The 7 ``PieceTable``s stacked, indexed by randomizer index; cell/column axes first."""

    ids: np.ndarray  # (7,) value written into the board
    rows: np.ndarray  # (4, 7, 40) cell offsets from the matrix's top row
    cols: np.ndarray  # (4, 7, 40) board columns of the cells
    legal: np.ndarray  # (7, 40)
    bits: np.ndarray  # (10, 7, 40) column bits with the matrix's top at y = 0
    mean_row: np.ndarray  # (7, 40)
    spawn_bits: np.ndarray  # (10, 7)
    scales: np.ndarray  # (F, 7, 40)
    spawn_span: tuple[int, int]  # the columns any piece spawns in, as a slice


def stack_tables(tables: list[PieceTable]) -> PieceStack:
    def stacked(name: str) -> np.ndarray:
        return np.stack([getattr(t, name) for t in tables])

    used = np.flatnonzero(stacked("spawn_bits").any(axis=0))

    return PieceStack(
        ids=np.array([t.piece_id for t in tables], dtype=np.uint8),
        rows=np.ascontiguousarray(stacked("rows").transpose(2, 0, 1)),
        cols=np.ascontiguousarray(stacked("cols").transpose(2, 0, 1)),
        legal=stacked("legal"),
        bits=np.ascontiguousarray(stacked("bits").transpose(2, 0, 1)),
        mean_row=stacked("mean_row"),
        spawn_bits=np.ascontiguousarray(stacked("spawn_bits").T),
        scales=np.ascontiguousarray(stacked("scales").transpose(2, 0, 1)),
        spawn_span=(int(used.min()), int(used.max()) + 1),
    )


@dataclass
class BatchAfterstates:
    """``Afterstates`` of n games; ``columns`` is column-major."""

    legal: np.ndarray  # (n, 40) bool
    landing_y: np.ndarray  # (n, 40)
    blocked: np.ndarray  # (n, 40)
    game_over: np.ndarray  # (n, 40)
    lines: np.ndarray  # (n, 40)
    full_bits: np.ndarray  # (n, 40) uint32 rows cleared (before clearing)
    columns: np.ndarray  # (10, n, 40) uint32, after placing and clearing
    obs: np.ndarray  # (n, 40, F + 1) float32

    def game(self, i: int) -> Afterstates:
        """Game ``i``'s afterstates (views; ``columns`` as (40, 10))."""
        return Afterstates(
            legal=self.legal[i],
            landing_y=self.landing_y[i],
            blocked=self.blocked[i],
            game_over=self.game_over[i],
            lines=self.lines[i],
            full_bits=self.full_bits[i],
            columns=self.columns[:, i].T,
            obs=self.obs[i],
        )

    def head(self, n: int) -> BatchAfterstates:
        """The first ``n`` games (views)."""
        return BatchAfterstates(
            *(getattr(self, f)[:n] for f in ("legal", "landing_y", "blocked", "game_over")),
            self.lines[:n],
            self.full_bits[:n],
            self.columns[:, :n],
            self.obs[:n],
        )


def _exact_landing(
    board: np.ndarray, rows: np.ndarray, cols: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Landing rows and blocked flags of k candidates near the top, boards (k, 10).

    ``blocked`` is the engine's game-over rule: the piece collides where it starts
    (y = 0), so it is never placed. The landing row follows GroupedActionsObservations'
    drop loop: the first y >= 0 whose next row collides, so from an overlapping
    start the piece can tunnel down.

    Each candidate's collisions at every offset y form one bitmask: a cell ``row``
    rows below the piece's top is in board row y + row, whose bit in its column,
    shifted left by row + 1, sits at bit 20 - y; the floor sets bits 0..row. So
    bit 20 says the piece is blocked where it spawns, and the highest set bit
    below it is the first y >= 1 that collides: the landing row is the one above.
    """
    shift = rows.astype(_U) + _U(1)  # (k, 4)
    colbits = np.take_along_axis(board, cols, axis=1)  # (k, 4)
    hits = np.bitwise_or.reduce((colbits << shift) | ((_U(1) << shift) - _U(1)), axis=1)
    return HEIGHT - _HEIGHT_OF[hits & _BELOW_SPAWN], (hits & _AT_SPAWN) != 0


def _clear_rows(columns: np.ndarray, full: np.ndarray) -> None:
    """Drop the bits of the ``full`` rows out of (10, M) columns, in place (rows above fall)."""
    full = full.copy()
    while True:
        todo = np.flatnonzero(full)
        if todo.size == 0:
            return
        below = (_U(1) << (_HEIGHT_OF[full[todo]].astype(_U) - _U(1))) - _U(1)
        cols = columns[:, todo]
        columns[:, todo] = (cols & below) | ((cols >> _U(1)) & ~below)
        full[todo] &= below


def batch_afterstates(
    board: np.ndarray, piece: np.ndarray, next_piece: np.ndarray, stack: PieceStack
) -> BatchAfterstates:
    """Afterstates of piece ``piece[i]`` on board ``board[i]`` ((n, 10) column bits)."""
    n = board.shape[0]
    m = n * N_ACTIONS
    rows, cols, legal = stack.rows[:, piece], stack.cols[:, piece], stack.legal[piece]
    top = (HEIGHT - _HEIGHT_OF[board]).ravel()  # (n * 10,)
    game = (np.arange(n) * board.shape[1])[None, :, None]
    first_hit = np.minimum.reduce(np.take(top, game + cols) - rows, axis=0)  # (n, 40)
    landing_y = first_hit - 1
    blocked = np.zeros((n, N_ACTIONS), dtype=bool)
    near = (first_hit <= 0) & legal
    if near.any():
        g, a = np.nonzero(near)
        landing_y[g, a], blocked[g, a] = _exact_landing(board[g], rows[:, g, a].T, cols[:, g, a].T)
    np.maximum(landing_y, 0, out=landing_y)

    placed = stack.bits[:, piece] >> landing_y.astype(_U)
    columns = np.ascontiguousarray(board.T[:, :, None] | placed)  # (10, n, 40)
    full = np.bitwise_and.reduce(columns, axis=0)
    lines = np.bitwise_count(full)
    feats = np.empty((N_FEATURES, n, N_ACTIONS), dtype=np.float32)
    feats[11] = 0.0
    if lines.any():
        hit = np.flatnonzero(full)  # only placements that clear lines erode cells
        eroded = np.bitwise_count(placed.reshape(-1, m)[:, hit] & full.ravel()[hit])
        feats[11].ravel()[hit] = lines.ravel()[hit] * eroded.sum(axis=0)
        _clear_rows(columns.reshape(-1, m), full.ravel())  # a view: in place
    feats[10] = lines
    feats[9] = HEIGHT - landing_y - stack.mean_row[piece]
    lo, hi = stack.spawn_span  # spawn cells lie in a few middle columns: test only those
    spawn = stack.spawn_bits[lo:hi, next_piece][:, :, None]
    game_over = (blocked | (columns[lo:hi] & spawn).any(axis=0)) & legal
    feats[12] = game_over
    board_features_t(columns.reshape(-1, m), feats.reshape(N_FEATURES, m))
    feats *= stack.scales[:, piece]
    obs = np.empty((n, N_ACTIONS, N_FEATURES + 1), dtype=np.float32)
    obs[:, :, :N_FEATURES] = feats.transpose(1, 2, 0)
    obs[:, :, N_FEATURES] = legal
    return BatchAfterstates(legal, landing_y, blocked, game_over, lines, full, columns, obs)


def board_features_t(columns: np.ndarray, out: np.ndarray) -> None:
    """The unscaled board features (0..8) of (10, M) columns into (F, M) ``out``."""
    packed = np.take(_PACKED, columns)  # one gather from the 8 MB table: the slow part
    totals = packed.sum(axis=0)
    for k in range(4):
        out[k] = (totals >> _UNPACK[k]) & _MASK16
    height_bits = (packed >> _UNPACK[3]).astype(_U)  # uint32 keeps the hole maths in 32 bits
    heights = height_bits.astype(np.int16)
    holes = ((_U(1) << height_bits) - _U(1)) & ~columns  # _HOLE_BITS, computed
    out[4] = np.bitwise_count(np.bitwise_or.reduce(holes, axis=0))
    used = np.bitwise_or.reduce(columns, axis=0)  # the walls, as rows go: filled where used
    transitions = np.bitwise_count(columns[1:] ^ columns[:-1]).sum(axis=0, dtype=np.int32)
    transitions += np.bitwise_count(columns[0] ^ used) + np.bitwise_count(columns[-1] ^ used)
    out[5] = transitions
    depth = np.empty_like(heights)  # well depth: lower neighbour minus height (walls are 20)
    np.minimum(heights[:-2], heights[2:], out=depth[1:-1])
    depth[0], depth[-1] = heights[1], heights[-2]
    depth -= heights
    np.maximum(depth, 0, out=depth)
    # sum of d(d+1)/2 as (sum of d(d+1)) / 2: every term is even, so it is exact.
    out[6] = (depth * (depth + np.int16(1))).sum(axis=0, dtype=np.int32) >> 1
    out[7] = np.abs(heights[1:] - heights[:-1]).sum(axis=0, dtype=np.int32)
    out[8] = heights.max(axis=0)
