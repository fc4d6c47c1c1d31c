"""Per-game totals, computed where the game is: inside the env.

tetris-gymnasium reports only the lines cleared by one step, so lines per game
must be summed; doing it here keeps the callback's hot path tiny and makes the
totals true with any number of envs.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from tetris_tui.envs.frames import board_frame


class GameStatsWrapper(gym.Wrapper):
    """Sums lines, reward and pieces per game and reports them at game end.

    On the step that ends a game, ``info["game"]`` holds ``lines``, ``reward``,
    ``pieces``, ``length`` and ``capped``. Inner envs mark a locked piece with
    ``info["piece_locked"]``. ``max_pieces`` > 0 truncates a game after that
    many pieces, so a strong agent's games stay finite.
    """

    def __init__(self, env: gym.Env, max_pieces: int = 0) -> None:
        super().__init__(env)
        self.max_pieces = max_pieces
        self._reset_totals()

    def _reset_totals(self) -> None:
        self.lines = 0
        self.pieces = 0
        self.reward = 0.0
        self.length = 0

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self._reset_totals()
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.lines += int(info.get("lines_cleared", 0))
        self.pieces += int(bool(info.get("piece_locked", False)))
        self.reward += float(reward)
        self.length += 1
        capped = bool(self.max_pieces and self.pieces >= self.max_pieces and not terminated)
        if capped:
            truncated = True
        if terminated or truncated:
            info = dict(info)
            info["game"] = {
                "lines": self.lines,
                "reward": self.reward,
                "pieces": self.pieces,
                "length": self.length,
                "capped": capped,
            }
        return obs, float(reward), terminated, truncated, info

    def board_frame(self) -> dict[str, Any]:
        """The current frame for the UI, with this game's running totals."""
        game = self.env.unwrapped
        if hasattr(game, "game_frame"):  # RulesGameEnv: any rule set
            frame = game.game_frame()
        else:
            try:
                highlight = self.env.get_wrapper_attr("last_placed_mask")
            except AttributeError:
                highlight = None
            frame = board_frame(game, highlight)
        frame["lines"] = self.lines
        frame["pieces"] = self.pieces
        return frame
