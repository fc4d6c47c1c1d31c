"""Locking a piece and clearing rows on a byte board: the UI's half of every rule set.

A board here is ``bytes`` of ``height x 10`` cells, row 0 at the top, each cell
0 (empty) or a piece id. Every rule set here clears rows the same way once a
piece is placed inside the board (full rows vanish, everything above falls);
what differs between them is where a piece lands and which placements end the
game, and that is decided by the env (``tetris_tui.rules.gymnasium`` and
``.research``), which records where each piece landed. Replays and the
spectator's animation redraw those placements with these functions, with no
numpy tables, torch or tetris-gymnasium.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

# The board's columns (``pieces.WIDTH``; not imported from there: that module needs numpy,
# and the UI process loads this one without it).
WIDTH = 10
DEFAULT_HEIGHT = 20


def empty_board(height: int = DEFAULT_HEIGHT) -> bytes:
    return bytes(height * WIDTH)


def board_height(board: bytes) -> int:
    """Rows of a byte board (its length over the width)."""
    return len(board) // WIDTH


def pairs(cells: tuple[int, ...]) -> Iterator[tuple[int, int]]:
    """(row, col) pairs of a flattened cell tuple."""
    return zip(cells[0::2], cells[1::2], strict=True)


def lock(board: bytes, cells: tuple[int, ...], piece: int) -> tuple[bytes, tuple[int, ...]]:
    """The board with the piece written in, and the rows it fills (top to bottom)."""
    out = bytearray(board)
    for r, c in pairs(cells):
        out[r * WIDTH + c] = piece
    rows = board_height(board)
    full = tuple(r for r in range(rows) if all(out[r * WIDTH : (r + 1) * WIDTH]))
    return bytes(out), full


def clear_rows(board: bytes, rows: Iterable[int]) -> bytes:
    """Remove ``rows`` and let everything above fall."""
    rows = set(rows)
    if not rows:
        return board
    height = board_height(board)
    kept = [board[r * WIDTH : (r + 1) * WIDTH] for r in range(height) if r not in rows]
    return bytes(WIDTH * len(rows)) + b"".join(kept)


def place(board: bytes, cells: tuple[int, ...], piece: int) -> tuple[bytes, int]:
    """Lock then clear: the board after one placement, and the lines it cleared."""
    locked, full = lock(board, cells, piece)
    return clear_rows(locked, full), len(full)
