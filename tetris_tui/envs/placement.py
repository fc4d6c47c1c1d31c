"""The placement env: one action places one piece, chosen from its 40 afterstates.

It wraps tetris-gymnasium's own ``Tetris`` engine: the engine keeps the board,
the piece queue and randomizer, spawning, line clearing and game over, so
``env.unwrapped`` is a real ``Tetris`` in a consistent state (the UI draws it).
What this env adds is speed: the 40 placements are scored with numpy in one go
by the rule set (``rules/gymnasium.py``, the batched env's code with one game)
instead of the grouped wrapper's row-by-row drops.

Observation: ``Box(float32, (40, F + 1))``. Row ``a`` describes placement
``a = x * 4 + r`` (the ``GroupedActionsObservations`` numbering) by the scaled
features of the board it leaves (``FEATURE_NAMES``); the last column is 1 where
the placement is legal, 0 where the piece would hit the frame (those rows are 0).
A placement that ends the game has ``game_over`` = 1 instead of looking like a
clean board. ``info["action_mask"]`` repeats the mask, and ``action_masks()``
serves sb3-contrib's MaskablePPO.

Rewards (``EnvConfig``): each placement that does not end the game earns
``reward_alive + reward_line * lines + reward_multi * (lines**2 - lines)``; the
placement that ends the game earns ``reward_game_over`` plus its line reward.
Survival pay is dense, so PPO gets a signal long before it clears lines;
lines pay on top. The defaults (0.1, 1, 0, -1) keep returns near unit scale:
SB3 does not normalise rewards, and a well-scaled critic gives PPO better
advantages (x10 larger rewards learned about as fast, less smoothly). An
illegal action (only possible without the mask) ends the game with
``reward_game_over`` and locks nothing.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from tetris_gymnasium.envs.tetris import Tetris

from tetris_tui.config import EnvConfig
from tetris_tui.envs.features import (
    HEIGHT,
    N_ACTIONS,
    N_FEATURES,
    WIDTH,
    Afterstates,
    bits_to_rows,
    board_to_columns,
    build_piece_tables,
)
from tetris_tui.rules import rules_for


class PlacementEnv(gym.Wrapper):
    """Discrete(40) placements over a tetris-gymnasium ``Tetris`` engine."""

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, config: EnvConfig | None = None, tetris: Tetris | None = None) -> None:
        super().__init__(tetris if tetris is not None else Tetris())
        self.config = config or EnvConfig()
        engine = self.tetris
        if (engine.height, engine.width, engine.padding) != (HEIGHT, WIDTH, 4):
            raise ValueError("the placement env needs the standard 20x10 board")
        self.tables = build_piece_tables(engine.tetrominoes, engine.padding)
        self.rules = rules_for(self.config)  # the engine's own rules, scored as arrays
        self._pad = engine.padding
        self.action_space = spaces.Discrete(N_ACTIONS)
        self.observation_space = spaces.Box(
            low=0.0, high=np.inf, shape=(N_ACTIONS, N_FEATURES + 1), dtype=np.float32
        )
        self.last_placed_mask = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
        self.afterstates: Afterstates | None = None

    @property
    def tetris(self) -> Tetris:
        """The engine (also ``env.unwrapped``)."""
        return self.env.unwrapped  # type: ignore[return-value]

    # -- gym API -------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        self.tetris.reset(seed=seed, options=options)
        self.last_placed_mask = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
        obs = self.observe()
        return obs, {"action_mask": self.action_masks(), "lines_cleared": 0}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        a = int(action)
        engine = self.tetris
        after = self.afterstates if self.afterstates is not None else self._compute()
        cfg = self.config
        if not 0 <= a < N_ACTIONS or not after.legal[a]:
            engine.game_over = True
            obs = self.observe()
            info = {"lines_cleared": 0, "piece_locked": False, "illegal_action": True}
            info["action_mask"] = self.action_masks()
            return obs, float(cfg.reward_game_over), True, False, info

        lines = 0
        if after.blocked[a]:
            # The engine's rule: a piece that collides where it starts is not placed.
            engine.game_over = True
            self.last_placed_mask = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
        else:
            lines = self._lock(a, after)
            engine.has_swapped = False
            # The engine's spawn_tetromino(), minus its collision test: whether the
            # next piece fits was computed with the afterstates (tested to agree).
            engine.active_tetromino = engine.tetrominoes[engine.queue.get_next_tetromino()]
            engine.reset_tetromino_position()
            engine.game_over = bool(after.game_over[a])
        reward = cfg.reward_line * lines + cfg.reward_multi * (lines * lines - lines)
        reward += cfg.reward_game_over if engine.game_over else cfg.reward_alive
        obs = self.observe()
        info = {
            "lines_cleared": lines,
            "piece_locked": True,
            "action_mask": self.action_masks(),
        }
        return obs, float(reward), bool(engine.game_over), False, info

    def render(self) -> str:
        """The board as text, like the engine's ansi mode."""
        engine = self.tetris
        board = engine.project_tetromino() if not engine.game_over else engine.board
        cells = engine.crop_padding(board)
        return "\n".join("".join("." if v == 0 else str(v) for v in row) for row in cells)

    def action_masks(self) -> np.ndarray:
        """Legal placements of the active piece (bool, 40)."""
        after = self.afterstates if self.afterstates is not None else self._compute()
        return after.legal.copy()

    # -- what the spectator and the play worker ask of a placement env -------------------

    def placement_of(self, action: int) -> tuple[int, np.ndarray, np.ndarray, int, bool]:
        """Piece id, cell rows and columns, landing row, and whether ``action`` is placed."""
        engine = self.tetris
        after = self.afterstates if self.afterstates is not None else self._compute()
        table = self.tables[engine.active_tetromino.id - len(engine.base_pixels)]
        landing_y = int(after.landing_y[action])
        placed = bool(after.legal[action]) and not bool(after.blocked[action])
        rows = landing_y + table.rows[action]
        return table.piece_id, rows, table.cols[action], landing_y, placed

    def board_bytes(self) -> bytes:
        """The locked cells, (20 x 10) bytes."""
        engine = self.tetris
        return np.ascontiguousarray(engine.crop_padding(engine.board), dtype=np.uint8).tobytes()

    def upcoming(self) -> tuple[int, ...]:
        """Ids of the engine's next pieces."""
        engine = self.tetris
        return tuple(int(engine.tetrominoes[i].id) for i in engine.queue.get_queue())

    # -- internals -----------------------------------------------------------------

    def observe(self) -> np.ndarray:
        """Recompute the afterstates from the engine's state and return the observation."""
        return self._compute().obs

    def _compute(self) -> Afterstates:
        engine = self.tetris
        p = self._pad
        board = board_to_columns(engine.board[:HEIGHT, p : p + WIDTH] != 0)[None]
        piece = np.array([engine.active_tetromino.id - len(engine.base_pixels)])
        next_piece = np.array([int(engine.queue.queue[0])])
        self.afterstates = self.rules.afterstates(board, piece, next_piece).game(0)
        return self.afterstates

    def _lock(self, a: int, after: Afterstates) -> int:
        """Write placement ``a`` into the engine's board and clear lines with its rule."""
        engine = self.tetris
        p = self._pad
        piece = self.tables[engine.active_tetromino.id - len(engine.base_pixels)]
        rows = after.landing_y[a] + piece.rows[a]
        cols = piece.cols[a]
        engine.board[rows, cols + p] = piece.piece_id
        engine.active_tetromino = None
        lines = int(after.lines[a])
        if lines:
            engine.board, lines = engine.clear_filled_rows(engine.board)
        mask = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
        mask[rows, cols] = 1
        if lines:
            kept = mask[~bits_to_rows(after.full_bits[a])]
            mask = np.zeros_like(mask)
            mask[HEIGHT - kept.shape[0] :] = kept
        self.last_placed_mask = mask
        return int(lines)

    def afterstate_board(self, action: int, place_blocked: bool = False) -> np.ndarray | None:
        """The padded engine board after ``action`` (None when illegal).

        A blocked placement leaves the board unchanged, as in the engine, unless
        ``place_blocked``: then the piece is put where GroupedActionsObservations'
        drop loop puts it, for comparing with that wrapper's observation in tests.
        """
        after = self.afterstates if self.afterstates is not None else self._compute()
        if not after.legal[action]:
            return None
        engine = self.tetris
        board = engine.board.copy()
        if after.blocked[action] and not place_blocked:
            return board
        piece = self.tables[engine.active_tetromino.id - len(engine.base_pixels)]
        rows = after.landing_y[action] + piece.rows[action]
        board[rows, piece.cols[action] + self._pad] = piece.piece_id
        return engine.clear_filled_rows(board)[0]


def uniform_engine() -> Tetris:
    """A ``Tetris`` engine dealing pieces with its ``TrueRandomizer`` instead of the bag.

    Its constructor rejects a randomizer, so the randomizer and the queue over it
    are swapped in after construction (``tests/test_rules.py`` checks the pieces
    then follow the uniform draws).
    """
    from tetris_gymnasium.components.tetromino_queue import TetrominoQueue
    from tetris_gymnasium.components.tetromino_randomizer import TrueRandomizer

    engine = Tetris()
    engine.randomizer = TrueRandomizer(len(engine.tetrominoes))
    engine.queue = TetrominoQueue(engine.randomizer)
    return engine


def make_placement_env(config: EnvConfig | None = None) -> gym.Env:
    """The fast placement env described in this module's docstring.

    tetris-gymnasium's rules run on its engine (bag or uniform pieces); any other
    rule set plays one game of the batched env (``RulesGameEnv``).
    """
    config = config or EnvConfig()
    if config.rules != "gymnasium":
        from tetris_tui.envs.rules_env import RulesGameEnv

        return RulesGameEnv(config)
    return PlacementEnv(config, uniform_engine() if config.randomizer == "uniform" else None)
