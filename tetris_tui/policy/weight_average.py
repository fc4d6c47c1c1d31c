"""An exponential moving average of the policy's weights, for greedy play.

With a constant learning rate, PPO's weights jitter around where training is
taking them. Measured on a 60-minute model of the default run (2 cores): 35 s
more training moved the unit-length scorer weights 0.03 from where they were,
about half as far as the 20 minutes before had moved them. Greedy Tetris play
is very sensitive to the weights, so the policy that plays greedy games
(evaluation, ``best``, the spectator, saved models) is an average of recent
weights instead: it keeps the trend and loses most of the jitter, while
training itself goes on with the live weights.

The horizon grows with training (a quarter of the updates so far, up to
``horizon_steps``), so that early on, when the policy changes fast, the average
follows it closely.
"""

from __future__ import annotations

from typing import Any

import torch


class WeightAverage:
    """A copy of a policy whose parameters follow the live ones' moving average."""

    def __init__(self, policy: Any, horizon_steps: int, rollout_steps: int) -> None:
        # Built as SB3 rebuilds a saved policy: ``deepcopy`` fails on the graph
        # tensors an SB3 policy may hold from its last forward pass.
        self.policy = type(policy)(**policy._get_constructor_parameters()).to(policy.device)
        self.policy.load_state_dict(policy.state_dict())
        self.policy.set_training_mode(False)
        self.policy.optimizer = None  # only the live policy trains
        self.horizon_updates = max(1.0, horizon_steps / rollout_steps)
        self.rollout_steps = rollout_steps

    def rate(self, timesteps: int) -> float:
        """The weight of the newest parameters after ``timesteps`` of training."""
        updates = timesteps / self.rollout_steps
        horizon = min(self.horizon_updates, max(1.0, updates / 4))
        return 1.0 / horizon

    @torch.no_grad()
    def update(self, live: torch.nn.Module, timesteps: int) -> None:
        """Move the average towards ``live`` (after a PPO update)."""
        rate = self.rate(timesteps)
        for average, current in zip(self.policy.parameters(), live.parameters(), strict=True):
            average.lerp_(current, rate)
