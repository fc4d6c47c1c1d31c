"""N piece sequences drawn exactly as tetris-gymnasium 0.3.1 draws one.

The engine's ``BagRandomizer`` shuffles a 7-piece int8 bag in place with a
``Generator(PCG64(SeedSequence(seed)))`` (a new one only when ``seed > 0``; an
unseeded reset keeps the generator going), and its ``TetrominoQueue`` keeps 4
pieces ahead of the active one. So after ``k`` spawns, ``k + 5`` pieces have
been drawn, and the bag is reshuffled whenever that count reaches a multiple
of 7. Doing the same shuffles at the same moments keeps each game's generator
in the engine's exact state, so later unseeded games match too.

Pieces live in a ring of 21 slots per game (3 bags); a shuffle is one Python
call per game every 7 pieces, the only per-game loop of the batched env.
"""

from __future__ import annotations

import numpy as np

N_PIECES = 7
QUEUE = 4
RING = 3 * N_PIECES


class BagStreams:
    """Active piece, next pieces and randomizer state of ``n`` games."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.ring = np.zeros((n, RING), dtype=np.int8)
        self.spawned = np.zeros(n, dtype=np.int64)  # pieces spawned this game - 1
        self.rngs: list[np.random.Generator | None] = [None] * n
        self.bags = [np.arange(N_PIECES, dtype=np.int8) for _ in range(n)]
        self._rows = np.arange(n)

    def reset(self, i: int, seed: int | None) -> None:
        """``TetrominoQueue.reset(seed)`` then the first spawn, for game ``i``."""
        if seed and seed > 0:
            self.rngs[i] = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
        elif self.rngs[i] is None:
            self.rngs[i] = np.random.default_rng()
        self.bags[i] = np.arange(N_PIECES, dtype=np.int8)
        self._shuffle_into(i, 0)
        self.spawned[i] = 0

    def advance(self, games: np.ndarray) -> None:
        """Spawn the next piece in ``games`` (indices): one more piece is drawn."""
        spawned = self.spawned[games] + 1
        self.spawned[games] = spawned
        drawn = spawned + (QUEUE + 1)
        due = drawn % N_PIECES == 0
        if due.any():
            for i, d in zip(games[due].tolist(), drawn[due].tolist(), strict=True):
                self._shuffle_into(i, d)

    def _shuffle_into(self, i: int, drawn: int) -> None:
        rng = self.rngs[i]
        assert rng is not None
        rng.shuffle(self.bags[i])
        start = drawn % RING
        self.ring[i, start : start + N_PIECES] = self.bags[i]

    def piece(self, ahead: int = 0, games: np.ndarray | None = None) -> np.ndarray:
        """Randomizer index of the active piece (``ahead`` = 0) or the queue's ``ahead``-th."""
        rows = self._rows if games is None else games
        return self.ring[rows, (self.spawned[rows] + ahead) % RING].astype(np.intp)
