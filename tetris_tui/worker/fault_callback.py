"""Test-only: a callback that raises inside ``learn()`` (``TETRIS_TUI_FAULT=raise-at-step``)."""

from __future__ import annotations

from stable_baselines3.common.callbacks import BaseCallback


class FaultCallback(BaseCallback):
    """Raises inside ``learn()`` at a given timestep (see ``tetris_tui.faults``)."""

    def __init__(self, at_step: int) -> None:
        super().__init__(verbose=0)
        self.at_step = at_step

    def _on_step(self) -> bool:
        if self.num_timesteps >= self.at_step:
            raise RuntimeError(f"injected fault at timestep {self.num_timesteps}")
        return True
