"""One game under any rule set, as a gymnasium env: the batched env with one slot.

``PlacementEnv`` runs tetris-gymnasium's own engine, which knows only its own
rules. Every other rule set (``tetris_tui.rules``) lives in the batched env's
arrays, so the single game is a ``PlacementVecEnv(1)`` seen through the
gymnasium API: same observation, mask, rewards and infos as ``PlacementEnv``,
and the same per-placement queries (``placement_of``, ``board_bytes``,
``upcoming``) that the spectator and the play worker ask of it. Games are never
capped here: ``GameStatsWrapper`` caps them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from tetris_tui.config import EnvConfig
from tetris_tui.envs.features import N_ACTIONS, N_FEATURES
from tetris_tui.envs.placement_vec import PlacementVecEnv

_GAME = np.array([0])


class RulesGameEnv(gym.Env):
    """Discrete(40) placements of one game under ``config``'s rule set."""

    metadata = {"render_modes": []}

    def __init__(self, config: EnvConfig | None = None) -> None:
        self.config = config or EnvConfig()
        self.vec = PlacementVecEnv(1, dataclasses.replace(self.config, max_pieces=0))
        self.rules = self.vec.rules
        self.action_space = spaces.Discrete(N_ACTIONS)
        self.observation_space = spaces.Box(
            low=0.0, high=np.inf, shape=(N_ACTIONS, N_FEATURES + 1), dtype=np.float32
        )
        self._final: np.ndarray | None = None  # the ended game's board, until the next reset

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        self.vec._seeds = [seed]
        obs = self.vec.reset()[0]
        self._final = None
        return obs, {"action_mask": self.action_masks(), "lines_cleared": 0}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        a = int(action)
        after = self.vec.after
        assert after is not None
        placed = 0 <= a < N_ACTIONS and bool(after.legal[0, a]) and not bool(after.blocked[0, a])
        obs, rewards, dones, infos = self.vec.step(np.array([a]))
        info = {"lines_cleared": int(infos[0]["lines_cleared"]), "piece_locked": placed}
        if dones[0]:
            obs = infos[0]["terminal_observation"][None]
            self._final = self.vec.final_cells[0]
            info["action_mask"] = obs[0, :, -1] > 0
        else:
            info["action_mask"] = self.action_masks()
        return obs[0], float(rewards[0]), bool(dones[0]), False, info

    def action_masks(self) -> np.ndarray:
        return self.vec.action_masks()[0]

    # -- what the spectator and the play worker ask of a placement env -------------------

    def placement_of(self, action: int) -> tuple[int, np.ndarray, np.ndarray, int, bool]:
        """Piece id, cell rows and columns, landing row, and whether ``action`` is placed."""
        after, stack = self.vec.after, self.vec.stack
        assert after is not None
        p = int(self.vec.streams.piece(0, _GAME)[0])
        landing_y = int(after.landing_y[0, action])
        placed = bool(after.legal[0, action]) and not bool(after.blocked[0, action])
        rows = landing_y + stack.rows[:, p, action]
        return int(stack.ids[p]), rows, stack.cols[:, p, action], landing_y, placed

    def board_bytes(self) -> bytes:
        """The locked cells, (height x 10) bytes; the last board once the game ended."""
        cells = self._final if self._final is not None else self.vec.colours.cells[0]
        return np.ascontiguousarray(cells, dtype=np.uint8).tobytes()

    def upcoming(self) -> tuple[int, ...]:
        """Ids of the next pieces a player is shown (none under the research rules)."""
        stack, streams = self.vec.stack, self.vec.streams
        preview = range(1, 1 + self.rules.preview)
        return tuple(int(stack.ids[streams.piece(k, _GAME)[0]]) for k in preview)

    def game_frame(self) -> dict[str, Any]:
        """The UI's frame of this game (``GameStatsWrapper.board_frame`` adds the totals)."""
        if self._final is not None:
            return {
                "cells": self.board_bytes(),
                "next_pieces": (),
                "hold": None,
                "highlight": None,
            }
        return self.vec.game_board_frame(0)
