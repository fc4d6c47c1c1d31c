"""Features of afterstates: the observation's columns, the lookup tables, the piece tables.

tetris-gymnasium's ``GroupedActionsObservations`` drops every candidate one row
at a time (about 450 ``collision()`` calls a step). Here a board is 10 column
bitmasks (bit ``i`` = ``i``-th row from the bottom, 20 bits), so:

- the landing row of all 40 placements comes from the column tops in one gather;
- the 40 afterstates are ``board | (piece_bits >> landing_row)`` on a (40, 10) array;
- per-column features (height, holes, hole depth, column transitions) are read
  from one lookup table over all 2**20 column values, built once per process.

A step thus costs a few dozen numpy calls whatever the board, which is what makes
the placement env fast enough for PPO on a CPU. The placements themselves are
scored by a rule set (``tetris_tui/rules``: ``batch_afterstates`` for
tetris-gymnasium's rules), for one game or many.

Conventions (the wrapper's): action ``a = x * 4 + r``; the piece matrix is
``np.rot90(matrix, r)``; its left column sits at padded column ``x + 4 - size // 2``;
a placement is illegal when a cell would fall on the frame (outside the 10 columns).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

HEIGHT = 20
WIDTH = 10
N_ACTIONS = WIDTH * 4

# Feature columns of the observation, in order, and the scale each is divided by so
# typical values sit in [0, 1] (a bad board may go above 1).
FEATURES: tuple[tuple[str, float], ...] = (
    ("holes", 20.0),  # empty cells under the top of their column
    ("hole_depth", 40.0),  # for each hole, the filled cells above it, summed (BCTS)
    ("col_transitions", 60.0),  # filled/empty changes down columns, floor filled
    ("aggregate_height", 100.0),  # sum of column heights
    ("rows_with_holes", 20.0),  # rows holding at least one hole
    ("row_transitions", 60.0),  # filled/empty changes along non-empty rows, walls filled
    ("wells", 40.0),  # cumulative well depth: sum of d*(d+1)/2 over columns
    ("bumpiness", 40.0),  # sum of |height difference| of neighbouring columns
    ("max_height", 20.0),  # highest column
    ("landing_height", 20.0),  # mean height of the piece's cells where it lands
    ("lines", 4.0),  # lines cleared by this placement
    ("eroded_cells", 16.0),  # lines cleared x piece cells in those lines (Dellacherie)
    ("game_over", 1.0),  # 1 when this placement ends the game (blocked or top-out)
)
FEATURE_NAMES = tuple(name for name, _ in FEATURES)
FEATURE_INDEX = {name: i for i, name in enumerate(FEATURE_NAMES)}
FEATURE_SCALES = np.array([scale for _, scale in FEATURES], dtype=np.float32)
N_FEATURES = len(FEATURES)

_U = np.uint32
_ROW_BITS = _U(1) << np.arange(HEIGHT - 1, -1, -1, dtype=_U)  # row r (0 = top) -> its bit
_INV_SCALES = (1.0 / FEATURE_SCALES).astype(np.float32)


def _column_tables() -> tuple[np.ndarray, np.ndarray]:
    """Tables over every 20-bit column: height, and packed per-column features.

    The packed uint64 holds holes, hole depth, column transitions and height in 16 bits
    each, so one ``take`` and one ``sum`` give all four totals for 40 boards at once.
    """
    v = np.arange(1 << HEIGHT, dtype=_U)
    height = np.frexp(v.astype(np.float64))[1].astype(np.uint64)
    holes = ((_U(1) << height.astype(_U)) - _U(1)) & ~v
    depth = np.zeros(v.shape, dtype=np.uint64)
    for bit in range(HEIGHT):
        is_hole = ((holes >> _U(bit)) & _U(1)).astype(bool)
        depth += np.where(is_hole, np.bitwise_count(v >> _U(bit + 1)), 0).astype(np.uint64)
    shifted = (v << _U(1)) | _U(1)  # the floor counts as filled
    col_trans = np.bitwise_count((shifted ^ (shifted >> _U(1))) & _U((1 << HEIGHT) - 1))
    packed = (
        np.bitwise_count(holes).astype(np.uint64)
        | (np.minimum(depth, 1000) << np.uint64(16))
        | (col_trans.astype(np.uint64) << np.uint64(32))
        | (height << np.uint64(48))
    )
    return height.astype(np.int32), packed


_HEIGHT_OF, _PACKED = _column_tables()
_UNPACK = np.array([0, 16, 32, 48], dtype=np.uint64)
_MASK16 = np.uint64(0xFFFF)


@dataclass(frozen=True)
class PieceTable:
    """One piece's 40 placements, precomputed; rows of illegal ones are clipped dummies."""

    piece_id: int  # the value the engine writes into the board (2..8)
    rows: np.ndarray  # (40, 4) cell offsets from the matrix's top row
    cols: np.ndarray  # (40, 4) board columns of the cells (clipped when illegal)
    legal: np.ndarray  # (40,) bool
    bits: np.ndarray  # (40, 10) uint32 column bits of the piece with its top row at y = 0
    mean_row: np.ndarray  # (40,) mean of ``rows``, for the landing height
    spawn_bits: np.ndarray  # (10,) uint32 column bits of the unrotated piece at spawn
    scales: np.ndarray  # (40, N_FEATURES) 1 / feature scale, 0 on illegal rows


def build_piece_tables(tetrominoes: list[Any], padding: int = 4) -> list[PieceTable]:
    """One table per engine tetromino, following GroupedActionsObservations' geometry."""
    tables = []
    width_padded = WIDTH + 2 * padding
    for tetromino in tetrominoes:
        matrix = np.asarray(tetromino.matrix)
        size = matrix.shape[1]
        rows = np.zeros((N_ACTIONS, 4), dtype=np.intp)
        cols = np.zeros((N_ACTIONS, 4), dtype=np.intp)
        legal = np.zeros(N_ACTIONS, dtype=bool)
        bits = np.zeros((N_ACTIONS, WIDTH), dtype=_U)
        for r in range(4):
            cells = np.argwhere(np.rot90(matrix, r) > 0)
            for x in range(WIDTH):
                a = x * 4 + r
                board_cols = x - size // 2 + cells[:, 1]
                legal[a] = bool(((board_cols >= 0) & (board_cols < WIDTH)).all())
                rows[a] = cells[:, 0]
                cols[a] = np.clip(board_cols, 0, WIDTH - 1)
                if legal[a]:
                    for dr, c in zip(cells[:, 0], board_cols, strict=True):
                        bits[a, c] |= _ROW_BITS[dr]
        spawn_bits = np.zeros(WIDTH, dtype=_U)
        spawn_x = width_padded // 2 - matrix.shape[0] // 2 - padding
        for dr, dc in np.argwhere(matrix > 0):
            spawn_bits[dc + spawn_x] |= _ROW_BITS[dr]
        tables.append(
            PieceTable(
                piece_id=int(tetromino.id),
                rows=rows,
                cols=cols,
                legal=legal,
                bits=bits,
                mean_row=rows.mean(axis=1),
                spawn_bits=spawn_bits,
                scales=legal[:, None] * _INV_SCALES[None, :],
            )
        )
    return tables


@dataclass
class Afterstates:
    """Everything about the 40 placements of the active piece on the current board."""

    legal: np.ndarray  # (40,) bool
    landing_y: np.ndarray  # (40,) row of the matrix's top where the piece locks
    blocked: np.ndarray  # (40,) the piece collides where it starts: game over, no lock
    game_over: np.ndarray  # (40,) blocked, or the next piece cannot spawn afterwards
    lines: np.ndarray  # (40,) lines cleared
    full_bits: np.ndarray  # (40,) uint32 bits of the rows cleared (before clearing)
    columns: np.ndarray  # (40, 10) uint32 column bitmasks after placing and clearing
    obs: np.ndarray  # (40, N_FEATURES + 1) float32: scaled features, then the legal mask


def board_to_columns(occ: np.ndarray) -> np.ndarray:
    """(..., 20, 10) bool board -> (..., 10) uint32 column bitmasks (bit 0 = bottom row)."""
    return (occ * _ROW_BITS[:, None]).sum(axis=-2, dtype=_U)


def columns_to_board(columns: np.ndarray) -> np.ndarray:
    """Inverse of ``board_to_columns``."""
    return (columns[..., None, :] & _ROW_BITS[:, None]) != 0


def bits_to_rows(bits: int | np.ndarray) -> np.ndarray:
    """Row bits -> (..., 20) bool, row 0 at the top."""
    return (np.asarray(bits, dtype=_U)[..., None] & _ROW_BITS) != 0
