"""The public env factory: ``make_env`` gives an env plain SB3 code can train on."""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from tetris_tui.config import EnvConfig
from tetris_tui.envs.game_stats import GameStatsWrapper


def make_env(config: EnvConfig | None = None, seed: int | None = None, **overrides: Any) -> gym.Env:
    """Build the Tetris env described by ``config`` (fields may be overridden by keyword).

    The result is a gymnasium env whose ``info["game"]`` carries per-game totals
    at game end and whose ``board_frame()`` draws the board. ``seed`` seeds the
    first reset (use seeds >= 1: tetris-gymnasium treats 0 as "no seed").
    """
    config = config or EnvConfig()
    if overrides:
        config = EnvConfig(**{**config.__dict__, **overrides})
    config.validate()
    if config.kind == "raw":
        from tetris_tui.envs.raw import make_raw_env

        inner = make_raw_env()
    else:
        from tetris_tui.envs.placement import make_placement_env

        inner = make_placement_env(config)
    env = GameStatsWrapper(inner, max_pieces=config.max_pieces)
    if seed is not None:
        env.reset(seed=seed)
    return env
