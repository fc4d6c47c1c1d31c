"""The seven tetrominoes and the 40 placements of each, as tetris-gymnasium 0.3.1 numbers them.

Every rule set here uses the same pieces and the same action numbering, so one
policy network fits them all: action ``a = x * 4 + r`` turns the piece matrix
with ``np.rot90(matrix, r)`` and puts its left column at board column
``x - size // 2`` (``GroupedActionsObservations``' geometry). The matrices are
the engine's own, copied so that this module needs only numpy (the UI and the
replay reader use it); ``tests/test_rules.py`` checks them against the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WIDTH = 10
ROTATIONS = 4
N_ACTIONS = WIDTH * ROTATIONS


@dataclass(frozen=True)
class Tetromino:
    """One piece: the value written into the board (2..8) and its spawn matrix."""

    id: int
    matrix: np.ndarray


def _piece(piece_id: int, rows: list[list[int]]) -> Tetromino:
    return Tetromino(piece_id, np.array(rows, dtype=np.uint8) * piece_id)


# In the engine's order: the randomizer draws an index into this list.
TETROMINOES: tuple[Tetromino, ...] = (
    _piece(2, [[0, 0, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0]]),  # I
    _piece(3, [[1, 1], [1, 1]]),  # O
    _piece(4, [[0, 1, 0], [1, 1, 1], [0, 0, 0]]),  # T
    _piece(5, [[0, 1, 1], [1, 1, 0], [0, 0, 0]]),  # S
    _piece(6, [[1, 1, 0], [0, 1, 1], [0, 0, 0]]),  # Z
    _piece(7, [[1, 0, 0], [1, 1, 1], [0, 0, 0]]),  # J
    _piece(8, [[0, 0, 1], [1, 1, 1], [0, 0, 0]]),  # L
)
N_PIECES = len(TETROMINOES)
PIECE_NAMES = {2: "I", 3: "O", 4: "T", 5: "S", 6: "Z", 7: "J", 8: "L"}


def placement_cells(piece: int, action: int) -> tuple[np.ndarray, np.ndarray]:
    """(matrix rows, board columns) of the 4 cells of ``action`` for piece index ``piece``.

    Rows count down from the turned matrix's top row; columns may fall outside
    0..9 (the placement is then off the board).
    """
    matrix = TETROMINOES[piece].matrix
    cells = np.argwhere(np.rot90(matrix, action % ROTATIONS) > 0)
    x = action // ROTATIONS
    return cells[:, 0], x - matrix.shape[1] // 2 + cells[:, 1]


def in_width() -> np.ndarray:
    """(7, 40) bool: the placements whose cells all lie within the 10 columns."""
    legal = np.zeros((N_PIECES, N_ACTIONS), dtype=bool)
    for p in range(N_PIECES):
        for a in range(N_ACTIONS):
            cols = placement_cells(p, a)[1]
            legal[p, a] = bool(((cols >= 0) & (cols < WIDTH)).all())
    return legal


def distinct_in_width() -> np.ndarray:
    """``in_width`` less the repeats: of the rotations that cover the same cells, the first.

    The O piece has 9 distinct placements, I, S and Z 17, the others 34: MDPTetris'
    count of orientations times columns (``game_get_nb_possible_columns``).
    """
    legal = in_width()
    for p in range(N_PIECES):
        seen: set[tuple[int, ...]] = set()
        for a in np.flatnonzero(legal[p]):
            rows, cols = placement_cells(p, int(a))
            shape = tuple(sorted(zip((rows - rows.max()).tolist(), cols.tolist(), strict=True)))
            key = tuple(v for cell in shape for v in cell)
            if key in seen:
                legal[p, a] = False
            seen.add(key)
    return legal
