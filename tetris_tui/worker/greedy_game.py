"""One greedy game of the placement env, placement by placement, recorded as it goes.

Shared by the spectator process, the play worker and best-game recording of
evaluations: each placement yields a ``SpectatorPlacement`` event (the board
before it, the piece and the cells it lands on), and a finished game yields a
``ReplayGame`` that ``tetris_tui.replay`` can replay exactly.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict
from typing import Any

from tetris_tui.config import EnvConfig
from tetris_tui.protocol import DEFAULT_PACE, SpectatorGame, SpectatorPlacement
from tetris_tui.replay import Placement, ReplayGame

# Spectator games are capped like play mode's, so one game of a strong agent ends.
MAX_PIECES = 10_000


class GreedyGame:
    """A placement-env game driven by ``predict(obs) -> action``, one placement per ``step``.

    Call ``new_game`` before the first ``step`` and after each finished game.
    """

    def __init__(
        self, env_config: EnvConfig, seed: int | None = None, max_pieces: int = MAX_PIECES
    ) -> None:
        from tetris_tui.envs import make_env

        self.env_config = EnvConfig(**{**asdict(env_config), "max_pieces": max_pieces})
        self.env = make_env(self.env_config)
        self.placement_env = self.env.env  # GameStatsWrapper(PlacementEnv)
        if not hasattr(self.placement_env, "placement_of"):
            raise ValueError("the spectator needs the placement env")
        self.rng = random.Random(seed)
        self.game = 0
        self.best_lines = 0
        self.policy_timesteps = 0
        self.finished: ReplayGame | None = None
        self.obs: Any = None  # new_game() starts each game, the first one too

    def new_game(self, policy_timesteps: int | None = None, seed: int | None = None) -> None:
        # Seeds >= 1: tetris-gymnasium treats 0 as "no seed".
        self.seed = seed if seed is not None else self.rng.randrange(1, 2**31)
        self.obs, _ = self.env.reset(seed=self.seed)
        self.game += 1
        self.actions: list[int] = []
        self.placements: list[Placement] = []
        self.lines = 0
        self.finished = None
        if policy_timesteps is not None:
            self.policy_timesteps = policy_timesteps

    def _board(self) -> bytes:
        return self.placement_env.board_bytes()

    def step(self, predict: Any, pace: float = DEFAULT_PACE) -> SpectatorPlacement | None:
        """Play one placement; its event (None when the piece could not be placed).

        When the game ends, ``finished`` holds its record; call ``new_game`` next.
        """
        action = int(predict(self.obs))
        env = self.placement_env
        piece_id, rows, cols, landing_y, placed = env.placement_of(action)
        board = self._board() if placed else b""
        upcoming = env.upcoming()
        self.obs, _, terminated, truncated, info = self.env.step(action)
        self.actions.append(action)
        event = None
        if placed:
            cells = tuple(int(v) for pair in zip(rows, cols, strict=True) for v in pair)
            row, column, rotation = landing_y, action // 4, action % 4
            cleared = int(info.get("lines_cleared", 0))
            self.lines += cleared
            self.placements.append(Placement(piece_id, rotation, column, row, cells))
            event = SpectatorPlacement(
                game=self.game,
                piece=piece_id,
                rotation=rotation,
                column=column,
                row=row,
                cells=cells,
                board=board,
                lines_cleared=cleared,
                lines=self.lines,
                pieces=len(self.placements),
                next_pieces=upcoming,
                policy_timesteps=self.policy_timesteps,
                pace=pace,
                best_lines=max(self.best_lines, self.lines),
            )
        if terminated or truncated:
            self.best_lines = max(self.best_lines, self.lines)
            self.finished = ReplayGame(
                lines=self.lines,
                pieces=len(self.placements),
                placements=tuple(self.placements),
                final_board=self._board(),
                seed=self.seed,
                actions=tuple(self.actions),
                policy_timesteps=self.policy_timesteps,
                env=asdict(self.env_config),
                capped=bool(truncated and not terminated),
                recorded_at=time.time(),
            )
        return event

    def finished_event(self) -> SpectatorGame:
        """The ``SpectatorGame`` event of the game that just ended (``finished``)."""
        record = self.finished
        assert record is not None
        return SpectatorGame(
            game=self.game,
            lines=record.lines,
            pieces=record.pieces,
            policy_timesteps=record.policy_timesteps,
            best_lines=self.best_lines,
            capped=record.capped,
            board=record.final_board,
        )

    def close(self) -> None:
        self.env.close()


def record_game(
    predict: Any,
    env_config: EnvConfig,
    seed: int,
    max_pieces: int,
    policy_timesteps: int = 0,
    should_stop: Any = None,
) -> ReplayGame | None:
    """Play one whole greedy game with ``seed``; its record (None if ``should_stop()``)."""
    game = GreedyGame(env_config, max_pieces=max_pieces)
    try:
        game.new_game(policy_timesteps, seed=seed)
        while game.finished is None:
            if should_stop is not None and should_stop():
                return None
            game.step(predict)
        return game.finished
    finally:
        game.close()


def policy_predictor(policy: Any) -> Any:
    """``obs -> action`` for an SB3 policy, greedy.

    The placement policy's greedy action is the argmax of its masked logits:
    computed straight from its scorer, a fraction of ``predict``'s cost (no
    distribution, no preprocessing), which is most of what a spectator spends.
    """
    import torch

    from tetris_tui.policy.placement import PlacementNet

    net = getattr(policy, "mlp_extractor", None)
    if isinstance(net, PlacementNet):

        def predict_placement(obs: Any) -> int:
            with torch.no_grad():
                logits = net.forward_actor(torch.as_tensor(obs, dtype=torch.float32))
            return int(logits.argmax())

        return predict_placement

    def predict(obs: Any) -> int:
        action, _ = policy.predict(obs, deterministic=True)
        return int(action)

    return predict
