"""The coloured boards of the batched env: what the UI draws and the tests compare.

The afterstate maths needs only occupancy bits; the UI wants each cell's piece
id as the engine stores it. Locking writes the ids of all locked games with one
fancy-index assignment, and line clears compact rows with one stable argsort
over the games that cleared, so this stays a handful of numpy calls per step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tetris_tui.envs.batch_afterstates import PieceStack
from tetris_tui.envs.features import HEIGHT, WIDTH, bits_to_rows


def _rows_of(bits: int | np.ndarray, height: int) -> np.ndarray:
    """Row bits (bit 0 the bottom row) -> (..., height) bool, row 0 at the top."""
    return bits_to_rows(bits)[..., HEIGHT - height :]


class ColourBoards:
    """(n, height, 10) uint8 piece ids, plus each game's last placement for the highlight."""

    def __init__(self, n: int, stack: PieceStack, height: int = HEIGHT) -> None:
        self.stack = stack
        self.height = height
        self.ids = [int(v) for v in stack.ids]
        self.cells = np.zeros((n, height, WIDTH), dtype=np.uint8)
        # Each game's last piece, action, landing row and full-row bits: one row per field,
        # so a step writes each with one assignment (no stacking into a temporary).
        self.last = np.full((4, n), -1, dtype=np.int64)

    def clear(self, games: int | np.ndarray) -> None:
        self.cells[games] = 0
        self.last[:, games] = -1

    def forget(self, games: np.ndarray) -> None:
        """No highlight for these games (a blocked piece is never placed)."""
        self.last[:, games] = -1

    def lock(
        self,
        games: np.ndarray,
        piece: np.ndarray,
        action: np.ndarray,
        landing_y: np.ndarray,
        full_bits: np.ndarray,
    ) -> None:
        """Write each game's piece where it lands, then clear its full rows."""
        rows = landing_y[:, None] + self.stack.rows[:, piece, action].T
        cols = self.stack.cols[:, piece, action].T
        self.cells[games[:, None], rows, cols] = self.stack.ids[piece][:, None]
        for field, values in zip(self.last, (piece, action, landing_y, full_bits), strict=True):
            field[games] = values
        clearing = full_bits != 0
        if clearing.any():
            g = games[clearing]
            keep = ~_rows_of(full_bits[clearing], self.height)  # (k, height)
            order = np.argsort(keep, axis=1, kind="stable")  # cleared rows first, then kept
            moved = np.take_along_axis(self.cells[g], order[:, :, None], axis=1)
            moved[~np.take_along_axis(keep, order, axis=1)] = 0
            self.cells[g] = moved

    def highlight(self, i: int) -> np.ndarray:
        """``PlacementEnv.last_placed_mask`` of game ``i``: the last piece, after clearing."""
        height = self.height
        mask = np.zeros((height, WIDTH), dtype=np.uint8)
        piece, action, landing_y, full_bits = (int(v) for v in self.last[:, i])
        if piece < 0:
            return mask
        mask[landing_y + self.stack.rows[:, piece, action], self.stack.cols[:, piece, action]] = 1
        if full_bits:
            kept = mask[~_rows_of(full_bits, height)]
            mask = np.zeros_like(mask)
            mask[height - kept.shape[0] :] = kept
        return mask

    def frame(self, i: int, active: int, queue: list[int]) -> dict[str, Any]:
        """``frames.board_frame`` of game ``i`` with its active piece at the spawn position."""
        cells = self.cells[i].copy()
        spawn = self.stack.spawn_bits[:, active] >> np.uint32(HEIGHT - self.height)
        shown = (spawn[None, :] >> np.arange(self.height - 1, -1, -1, dtype=np.uint32)[:, None]) & 1
        if not (cells[shown != 0]).any():  # the engine draws nothing over a collision
            cells[shown != 0] = self.ids[active]
        return {
            "cells": cells.tobytes(),
            "next_pieces": tuple(self.ids[q] for q in queue),
            "hold": None,
            "highlight": self.highlight(i).tobytes(),
        }
