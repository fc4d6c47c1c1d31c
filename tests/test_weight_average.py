"""Greedy play from a moving average of the weights: the average, and who uses it."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from conftest import boards_in_play
from stable_baselines3.common.callbacks import BaseCallback

from tetris_tui.config import Config, PPOConfig
from tetris_tui.policy.lean_ppo import LeanPPO
from tetris_tui.policy.weight_average import WeightAverage
from tetris_tui.worker.model_factory import build_vec_env, configure_torch, load_model, new_model

ROLLOUT = 16 * 32  # n_envs x n_steps below


def _config(average_steps: int) -> Config:
    return Config(
        seed=5,
        torch_threads=1,
        n_envs=16,
        ppo=PPOConfig(n_steps=32, batch_size=128, n_epochs=1, greedy_average_steps=average_steps),
    )


def _model(average_steps: int) -> LeanPPO:
    config = _config(average_steps)
    configure_torch(config)
    model = new_model(config, build_vec_env(config))
    assert isinstance(model, LeanPPO)
    return model


def _flat(policy: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten().clone() for p in policy.parameters()])


class LiveWeights(BaseCallback):
    """The live weights after every update (read at the next rollout's start)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[int, torch.Tensor]] = []

    def _on_rollout_start(self) -> None:
        if self.num_timesteps:
            self.seen.append((self.num_timesteps, _flat(self.model.policy)))

    def _on_training_end(self) -> None:
        self.seen.append((self.num_timesteps, _flat(self.model.policy)))

    def _on_step(self) -> bool:
        return True


def test_the_horizon_grows_with_training_up_to_its_cap():
    model = _model(average_steps=ROLLOUT * 10)
    average = WeightAverage(model.policy, ROLLOUT * 10, ROLLOUT)
    assert average.rate(ROLLOUT) == 1.0  # the first update: the live weights
    assert average.rate(ROLLOUT * 8) == pytest.approx(1 / 2)  # a quarter of 8 updates
    assert average.rate(ROLLOUT * 40) == pytest.approx(1 / 10)
    assert average.rate(ROLLOUT * 4000) == pytest.approx(1 / 10)  # capped at the horizon


def test_the_average_is_the_moving_average_of_the_live_weights():
    model = _model(average_steps=ROLLOUT * 3)
    live = LiveWeights()
    model.learn(ROLLOUT * 12, callback=live)
    assert len(live.seen) == 12
    rule = WeightAverage(model.policy, ROLLOUT * 3, ROLLOUT)
    expected = None
    for timesteps, weights in live.seen:
        rate = rule.rate(timesteps)
        expected = weights if expected is None else expected + rate * (weights - expected)
    averaged = _flat(model.greedy_policy)
    assert torch.allclose(averaged, expected, atol=1e-6)
    assert not torch.allclose(averaged, _flat(model.policy))  # it lags the live weights


def test_greedy_play_and_saves_use_the_average_and_a_resume_starts_from_it():
    model = _model(average_steps=ROLLOUT * 3)
    model.learn(ROLLOUT * 8)
    averaged = _flat(model.greedy_policy)
    obs = boards_in_play(model, model.env)
    expected, _ = model.greedy_policy.predict(obs, deterministic=True)
    chosen, _ = model.predict(obs, deterministic=True)
    assert np.array_equal(chosen, expected)
    live, _ = model.policy.predict(obs, deterministic=True)
    assert not np.array_equal(live, expected)  # seeded: the two choose differently here

    buffer = io.BytesIO()
    model.save(buffer)
    buffer.seek(0)
    resumed = load_model(buffer, _config(ROLLOUT * 3), model.env)
    assert torch.equal(_flat(resumed.policy), averaged)
    assert resumed.greedy_average_steps == ROLLOUT * 3
    # The live optimizer state travels too, so training goes on where it was.
    saved_state = resumed.policy.optimizer.state_dict()["state"]
    live_state = model.policy.optimizer.state_dict()["state"]
    assert torch.equal(saved_state[0]["exp_avg"], live_state[0]["exp_avg"])


def test_zero_steps_plays_and_saves_the_live_weights():
    model = _model(average_steps=0)
    model.learn(ROLLOUT * 4)
    assert model.greedy_policy is model.policy
    buffer = io.BytesIO()
    model.save(buffer)
    buffer.seek(0)
    resumed = load_model(buffer, _config(0), model.env)
    assert torch.equal(_flat(resumed.policy), _flat(model.policy))


def test_the_spectator_is_sent_the_averaged_weights():
    """The worker's callback publishes what greedy play uses, not the live weights."""
    from tetris_tui.worker.callback import ReportingCallback

    model = _model(average_steps=ROLLOUT * 3)
    model.learn(ROLLOUT * 6)

    class Spectator:
        def publish(self, policy: torch.nn.Module, timesteps: int) -> None:
            self.published = (_flat(policy), timesteps)

    callback = ReportingCallback(_config(ROLLOUT * 3), None, None, None, None, None)
    callback.model = model
    callback.num_timesteps = model.num_timesteps
    callback.spectator = Spectator()
    callback._publish_weights()
    weights, timesteps = callback.spectator.published
    assert timesteps == ROLLOUT * 6
    assert torch.equal(weights, _flat(model.greedy_policy))
    assert not torch.equal(weights, _flat(model.policy))
