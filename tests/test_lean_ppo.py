"""LeanPPO: SB3's PPO update, computed with fewer operations, gives SB3's numbers."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import CallbackList

from tetris_tui.config import Config, PPOConfig
from tetris_tui.policy.lean_ppo import LeanPPO
from tetris_tui.worker.model_factory import build_vec_env, configure_torch, new_model

BUFFER_FIELDS = ("observations", "actions", "values", "log_probs", "advantages", "returns")


class Rollout:
    """A trained model with one fresh rollout, and a way back to this exact moment."""

    def __init__(self, seed: int = 3) -> None:
        config = Config(
            seed=seed,
            torch_threads=1,
            n_envs=16,
            ppo=PPOConfig(n_steps=32, batch_size=128, n_epochs=3),
        )
        configure_torch(config)
        self.model = new_model(config, build_vec_env(config))
        assert isinstance(self.model, LeanPPO)
        self.model.learn(2048)
        callbacks = CallbackList([])
        callbacks.init_callback(self.model)
        self.model.collect_rollouts(
            self.model.env, callbacks, self.model.rollout_buffer, self.model.n_steps
        )
        buffer = self.model.rollout_buffer
        self.arrays = {name: getattr(buffer, name).copy() for name in BUFFER_FIELDS}
        self.weights = copy.deepcopy(self.model.policy.state_dict())
        self.optimizer = copy.deepcopy(self.model.policy.optimizer.state_dict())
        self.rng = np.random.get_state()

    def train_with(self, train: Callable[[PPO], None]) -> dict[str, float]:
        """Rewind to the rollout, run one ``train``, return what it logged."""
        buffer = self.model.rollout_buffer
        for name, array in self.arrays.items():
            setattr(buffer, name, array.copy())
        buffer.generator_ready = False
        self.model.policy.load_state_dict(self.weights)
        # A deep copy: load_state_dict keeps the very tensors, which Adam updates in place.
        self.model.policy.optimizer.load_state_dict(copy.deepcopy(self.optimizer))
        np.random.set_state(self.rng)
        train(self.model)
        return dict(self.model.logger.name_to_value)

    def outputs(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The policy's placement probabilities and values over the rollout's observations."""
        shape = self.model.observation_space.shape
        obs = torch.as_tensor(self.arrays["observations"].reshape(-1, *shape))
        with torch.no_grad():
            dist = self.model.policy.get_distribution(obs)
            values = self.model.policy.predict_values(obs)
        return dist.distribution.probs, values


@pytest.fixture(scope="module")
def rollout() -> Iterator[Rollout]:
    threads = torch.get_num_threads()
    yield Rollout()
    # configure_torch set these for the whole process, as in a worker.
    torch.set_num_threads(threads)
    torch.distributions.Distribution.set_default_validate_args(True)


def test_a_lean_step_takes_sb3s_gradient(rollout: Rollout) -> None:
    """One minibatch, plain SGD at lr 1 and no clipping: the step IS the gradient."""
    model = rollout.model
    saved = (model.n_epochs, model.batch_size, model.max_grad_norm, model.lr_schedule)
    model.n_epochs, model.max_grad_norm = 1, 1e9
    model.batch_size = model.n_steps * model.n_envs
    steps = []
    try:
        for train in (PPO.train, LeanPPO.train):

            def sgd_train(m: PPO, train: Callable[[PPO], None] = train) -> None:
                adam = m.policy.optimizer
                m.policy.optimizer = torch.optim.SGD(m.policy.parameters(), lr=1.0)
                m.lr_schedule = lambda _: 1.0
                try:
                    train(m)
                finally:
                    m.policy.optimizer = adam

            rollout.train_with(sgd_train)
            named = model.policy.named_parameters()
            steps.append([p.detach() - rollout.weights[name] for name, p in named])
    finally:
        model.n_epochs, model.batch_size, model.max_grad_norm, model.lr_schedule = saved
    for sb3_step, lean_step in zip(*steps, strict=True):
        assert sb3_step.abs().max() > 0 or lean_step.abs().max() < 1e-6
        torch.testing.assert_close(lean_step, sb3_step, rtol=1e-4, atol=1e-6)


def test_a_lean_update_trains_the_policy_sb3_would(rollout: Rollout) -> None:
    """A whole default update (epochs, minibatches, Adam, clipping): same policy, same figures."""
    sb3_figures = rollout.train_with(PPO.train)
    sb3_probs, sb3_values = rollout.outputs()
    lean_figures = rollout.train_with(LeanPPO.train)
    lean_probs, lean_values = rollout.outputs()
    # The policy moved, and both ways moved it to the same place.
    rollout.train_with(lambda m: None)
    before_probs, _ = rollout.outputs()
    assert (sb3_probs - before_probs).abs().max() > 1e-2
    torch.testing.assert_close(lean_probs, sb3_probs, rtol=1e-3, atol=1e-5)
    torch.testing.assert_close(lean_values, sb3_values, rtol=1e-4, atol=1e-4)
    for name in ("entropy_loss", "policy_gradient_loss", "value_loss", "approx_kl", "loss"):
        key = f"train/{name}"
        assert lean_figures[key] == pytest.approx(sb3_figures[key], rel=1e-3, abs=1e-6), key
    assert lean_figures["train/clip_fraction"] == pytest.approx(
        sb3_figures["train/clip_fraction"], abs=2e-3
    )


def test_other_policies_train_with_sb3s_update() -> None:
    config = Config(seed=1, n_envs=4)
    model = LeanPPO("MlpPolicy", build_vec_env(config), n_steps=32, batch_size=64, seed=1)
    model.learn(256)
    assert model.num_timesteps == 256 and "train/loss" in model.logger.name_to_value


def _counted(rollout: Rollout, train: Callable[[PPO], None]) -> tuple[dict[str, float], int]:
    """What one ``train`` from the rollout logged (nothing left from before), and its epochs."""
    rollout.model.logger.name_to_value.clear()
    before = rollout.model._n_updates
    figures = rollout.train_with(train)
    return figures, rollout.model._n_updates - before


def _both_updates(rollout: Rollout) -> tuple[dict[str, float], int, torch.Tensor, torch.Tensor]:
    """SB3's update and the lean one from the same rollout must agree; the lean one's results."""
    sb3_figures, sb3_epochs = _counted(rollout, PPO.train)
    sb3_probs, sb3_values = rollout.outputs()
    lean_figures, lean_epochs = _counted(rollout, LeanPPO.train)
    lean_probs, lean_values = rollout.outputs()
    assert lean_epochs == sb3_epochs
    torch.testing.assert_close(lean_probs, sb3_probs, rtol=1e-3, atol=1e-5)
    torch.testing.assert_close(lean_values, sb3_values, rtol=1e-4, atol=1e-4)
    assert set(lean_figures) == set(sb3_figures)
    for name in ("value_loss", "approx_kl", "loss", "clip_range_vf"):
        key = f"train/{name}"
        if key in sb3_figures:
            assert lean_figures[key] == pytest.approx(sb3_figures[key], rel=1e-3, abs=1e-6), key
    return lean_figures, lean_epochs, lean_probs, lean_values


def test_target_kl_stops_both_updates_at_the_same_minibatch(rollout: Rollout) -> None:
    model = rollout.model
    rollout.train_with(lambda m: None)
    start_probs, _ = rollout.outputs()
    _figures, full_epochs, full_probs, _ = _both_updates(rollout)
    model.target_kl = 1e-9  # the first step moves the policy past it: stop at the second
    try:
        _figures, epochs, probs, _ = _both_updates(rollout)
    finally:
        model.target_kl = None
    assert full_epochs == model.n_epochs > 1 and epochs == 1
    assert (probs - start_probs).abs().max() > 1e-4  # one step was taken
    assert (probs - full_probs).abs().max() > 1e-3  # and no more


def test_clip_range_vf_clips_the_values_as_sb3_does(rollout: Rollout) -> None:
    model = rollout.model
    _figures, _epochs, _probs, free_values = _both_updates(rollout)
    model.clip_range_vf = lambda _progress: 0.01
    try:
        figures, _epochs, _probs, values = _both_updates(rollout)
    finally:
        model.clip_range_vf = None
    assert figures["train/clip_range_vf"] == 0.01
    assert (values - free_values).abs().max() > 1e-3  # the clipping changed the update
