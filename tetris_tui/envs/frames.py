"""Turn a tetris-gymnasium game into a board frame the UI can draw."""

from __future__ import annotations

from typing import Any

import numpy as np


def board_frame(tetris: Any, highlight: np.ndarray | None = None) -> dict[str, Any]:
    """The 20x10 playable board with the falling piece, plus next and held pieces.

    ``tetris`` is tetris-gymnasium's unwrapped ``Tetris`` env. Returns plain
    bytes and ints so the frame pickles in microseconds.
    """
    if tetris.active_tetromino is not None and not tetris.game_over:
        board = tetris.project_tetromino()
    else:
        board = tetris.board
    cells = np.ascontiguousarray(tetris.crop_padding(board), dtype=np.uint8)
    next_pieces = tuple(int(tetris.tetrominoes[i].id) for i in tetris.queue.get_queue())
    held = tetris.holder.get_tetrominoes()
    return {
        "cells": cells.tobytes(),
        "next_pieces": next_pieces,
        "hold": int(held[0].id) if held else None,
        "highlight": None if highlight is None else highlight.astype(np.uint8).tobytes(),
    }
