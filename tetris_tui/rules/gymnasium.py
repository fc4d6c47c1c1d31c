"""tetris-gymnasium 0.3.1's rules, as the placement envs have always played them.

- Pieces: its 7 matrices, dealt by its 7-bag (``BagStreams``) or, with
  ``randomizer="uniform"``, by its ``TrueRandomizer`` (``UniformStreams``); 4
  next pieces are shown.
- Legal: every rotation at every column where the piece lies within the 10
  columns (``GroupedActionsObservations``' mask).
- Landing: the piece starts with its matrix's top at row 0 and drops until the
  next row would collide; a piece that collides where it starts is ``blocked``
  (never placed, the game ends).
- Clearing: every full row, always.
- Game over: blocked, or the next piece collides where it spawns.

The arithmetic is ``envs/batch_afterstates.py`` (bit-identical to the engine:
``tests/test_placement_vec.py``); this module only binds it.
"""

from __future__ import annotations

import numpy as np

from tetris_tui.envs.bag_streams import BagStreams
from tetris_tui.envs.batch_afterstates import BatchAfterstates, batch_afterstates, stack_tables
from tetris_tui.envs.features import build_piece_tables
from tetris_tui.envs.uniform_streams import UniformStreams
from tetris_tui.rules.base import DEFAULT_HEIGHT, PieceStreams
from tetris_tui.rules.pieces import TETROMINOES


class GymnasiumRules:
    """tetris-gymnasium's rules on its 20 x 10 board, with a bag or uniform randomizer."""

    name = "gymnasium"
    height = DEFAULT_HEIGHT
    preview = 4

    def __init__(self, randomizer: str = "bag") -> None:
        self.randomizer = randomizer
        self.stack = stack_tables(build_piece_tables(list(TETROMINOES)))

    def afterstates(
        self, board: np.ndarray, piece: np.ndarray, next_piece: np.ndarray
    ) -> BatchAfterstates:
        return batch_afterstates(board, piece, next_piece, self.stack)

    def new_streams(self, n: int) -> PieceStreams:
        return UniformStreams(n) if self.randomizer == "uniform" else BagStreams(n)


def build(height: int = DEFAULT_HEIGHT, randomizer: str = "bag") -> GymnasiumRules:
    if height != DEFAULT_HEIGHT:
        raise ValueError("tetris-gymnasium's rules play on a 20-row board only")
    return GymnasiumRules(randomizer)
