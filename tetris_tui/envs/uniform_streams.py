"""N uniform piece sequences drawn exactly as tetris-gymnasium 0.3.1's ``TrueRandomizer``.

The engine draws each piece with ``rng.integers(0, 7)`` from the same
``Generator(PCG64(SeedSequence(seed)))`` as its bag (a new one only when
``seed > 0``), and its ``TetrominoQueue`` keeps 4 pieces ahead of the active
one: a game's pieces are simply its generator's draws in order, and an
unseeded new game goes on 5 draws after the last active piece (the queue's
refill). A block of ``integers(0, 7, size=k)`` gives the same numbers as k
single draws (checked in ``tests/test_rules.py``), so each game draws 64 at a
time into a ring: one Python call per game every 64 pieces.
"""

from __future__ import annotations

import numpy as np

N_PIECES = 7
QUEUE = 4
BLOCK = 64
RING = 2 * BLOCK


class UniformStreams:
    """Active piece, next pieces and generator of ``n`` games (``BagStreams``' interface)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.ring = np.zeros((n, RING), dtype=np.int8)
        self.pos = np.zeros(n, dtype=np.int64)  # draw index of the active piece
        self.drawn = np.zeros(n, dtype=np.int64)  # draws made so far
        self.rngs: list[np.random.Generator | None] = [None] * n
        self._rows = np.arange(n)

    def reset(self, i: int, seed: int | None) -> None:
        """``TetrominoQueue.reset(seed)`` then the first spawn, for game ``i``."""
        if seed and seed > 0:
            self.rngs[i] = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
            self.pos[i] = self.drawn[i] = 0
        elif self.rngs[i] is None:
            self.rngs[i] = np.random.default_rng()
            self.pos[i] = self.drawn[i] = 0
        else:
            self.pos[i] += QUEUE + 1  # the queue is drawn afresh after the last game's
        self._fill(i)

    def advance(self, games: np.ndarray) -> None:
        """Spawn the next piece in ``games`` (indices)."""
        pos = self.pos[games] + 1
        self.pos[games] = pos
        short = pos + (QUEUE + 1) > self.drawn[games]
        if short.any():
            for i in games[short].tolist():
                self._fill(i)

    def _fill(self, i: int) -> None:
        while self.pos[i] + QUEUE + 1 > self.drawn[i]:
            rng = self.rngs[i]
            assert rng is not None
            start = int(self.drawn[i]) % RING
            self.ring[i, start : start + BLOCK] = rng.integers(0, N_PIECES, size=BLOCK)
            self.drawn[i] += BLOCK

    def piece(self, ahead: int = 0, games: np.ndarray | None = None) -> np.ndarray:
        """Index of the active piece (``ahead`` = 0) or of the queue's ``ahead``-th."""
        rows = self._rows if games is None else games
        return self.ring[rows, (self.pos[rows] + ahead) % RING].astype(np.intp)
