"""tetris-gymnasium's own per-key env, for users who want it (``--env raw``)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import tetris_gymnasium.envs  # noqa: F401  (registers the env id)

ENV_ID = "tetris_gymnasium/Tetris"


class PieceLockMarker(gym.Wrapper):
    """Marks the steps that lock a piece, which the raw env does not report.

    With the default rewards a lock earns at least ``alife`` (1) and a non-lock
    step earns 0; the game-over lock earns 0 but ends the game.
    """

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        alife = self.env.unwrapped.rewards.alife
        info["piece_locked"] = bool(terminated or reward >= alife)
        return obs, float(reward), terminated, truncated, info


def make_raw_env(**kwargs: Any) -> gym.Env:
    """The per-key env with a float reward and piece-lock marks."""
    return PieceLockMarker(gym.make(ENV_ID, **kwargs))
