"""What a rule set is: one object that the batched env, the single env and the evaluator call.

A rule set decides, for the 7 tetrominoes of ``pieces.py`` and the 40 actions
``x * 4 + r``: which placements are legal, where each one lands, which rows
clear, which placements end the game, and how pieces are dealt. The envs
(``PlacementVecEnv``, ``RulesGameEnv``, ``greedy_batch``) hold no rule of
their own: they call ``afterstates`` for all placements of a batch of boards
and ``new_streams`` for the pieces, so a third rule set is one new module
(``gymnasium.py`` and ``research.py`` are the two today) and one line in
``RULE_SETS``. Locking and clearing on the UI's byte boards is ``board.py``.

This module is numpy-free; the rule sets themselves import the numpy kernels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

# name -> module under tetris_tui.rules
RULE_SETS = {"gymnasium": "gymnasium", "research": "research"}
RANDOMIZERS = ("bag", "uniform")
HEIGHTS = (10, 20)
DEFAULT_RULES = "gymnasium"
DEFAULT_HEIGHT = 20
DEFAULT_RANDOMIZER = "bag"


class PieceStreams(Protocol):
    """The pieces of ``n`` games: the active one, the ones after it, the generator state."""

    def reset(self, i: int, seed: int | None) -> None:
        """A new game in slot ``i``: reseeded when ``seed`` >= 1, else the generator goes on."""

    def advance(self, games: np.ndarray) -> None:
        """The next piece becomes active in ``games``."""

    def piece(self, ahead: int = 0, games: np.ndarray | None = None) -> np.ndarray:
        """Index (0..6) of the active piece (``ahead`` = 0) or of the ``ahead``-th next one."""


class RuleSet(Protocol):
    """One rule set on a board ``height`` rows high and 10 wide."""

    name: str
    height: int
    randomizer: str
    # Next pieces a player is shown (the UI's preview; the observation never has them).
    preview: int
    # Geometry of the 7 x 40 placements (``batch_afterstates.PieceStack``), legal ones marked.
    stack: Any

    def afterstates(self, board: np.ndarray, piece: np.ndarray, next_piece: np.ndarray) -> Any:
        """All 40 placements of ``piece[i]`` on ``board[i]`` ((n, 10) uint32 column bits,
        bit 0 the bottom row): a ``BatchAfterstates``. ``blocked`` placements are never
        locked; ``game_over`` ones end the game (locked first unless blocked)."""

    def new_streams(self, n: int) -> PieceStreams:
        """Piece streams for ``n`` games, dealt as this rule set deals them."""


def describe(rules: str, height: int, randomizer: str) -> str:
    """A short label: ``gymnasium``, ``gymnasium/uniform``, ``research 10x10``."""
    if rules == DEFAULT_RULES:
        return rules if randomizer == DEFAULT_RANDOMIZER else f"{rules}/{randomizer}"
    return f"{rules} {height}x10"


def check(rules: str, height: int, randomizer: str, kind: str = "placement") -> str | None:
    """Why this combination cannot be played (one line), or None when it can."""
    if rules not in RULE_SETS:
        return f"unknown rules {rules!r} (choose from {', '.join(RULE_SETS)})"
    if height not in HEIGHTS:
        return f"the board is 10 or 20 rows high, got {height}"
    if randomizer not in RANDOMIZERS:
        return f"unknown randomizer {randomizer!r} (choose from {', '.join(RANDOMIZERS)})"
    if rules == "gymnasium" and height != DEFAULT_HEIGHT:
        return "tetris-gymnasium's rules play on a 20-row board only (use --rules research)"
    if rules == "research" and randomizer != "uniform":
        return "the research rules deal pieces uniformly (drop --randomizer bag)"
    if kind != "placement" and (rules, randomizer) != (DEFAULT_RULES, DEFAULT_RANDOMIZER):
        return "the raw env plays tetris-gymnasium's default rules only"
    return None
