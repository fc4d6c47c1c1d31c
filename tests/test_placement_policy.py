"""PlacementPolicy: masked shared scoring that plain SB3 PPO trains, saves and loads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv

from tetris_tui.config import Config, EnvConfig
from tetris_tui.envs import make_env
from tetris_tui.policy import PlacementPolicy, placement_ppo_kwargs
from tetris_tui.policy.placement import ILLEGAL_LOGIT, sample_placements
from tetris_tui.worker.model_factory import configure_torch


def small_ppo(seed: int = 1) -> PPO:
    venv = DummyVecEnv([lambda i=i: make_env(EnvConfig(), seed=seed + i) for i in range(2)])
    kwargs = placement_ppo_kwargs()
    return PPO(
        kwargs["policy"],
        venv,
        policy_kwargs=kwargs["policy_kwargs"],
        n_steps=64,
        batch_size=64,
        n_epochs=2,
        seed=seed,
        device="cpu",
    )


def observations(n: int, seed: int = 7) -> np.ndarray:
    """Observations from real games, high stacks included (random legal play)."""
    env = make_env(EnvConfig(), seed=seed)
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        out.append(obs)
        obs, _, term, trunc, _ = env.step(int(rng.choice(np.flatnonzero(obs[:, -1]))))
        if term or trunc:
            obs, _ = env.reset()
    return np.stack(out)


def test_kwargs_build_a_placement_policy() -> None:
    model = small_ppo()
    assert isinstance(model.policy, PlacementPolicy)
    assert isinstance(model.policy.action_net, torch.nn.Identity)
    model.learn(128)


@pytest.fixture(params=["torch checks on", "torch checks off, as in the workers"])
def torch_checks(request: pytest.FixtureRequest):
    """Run a test with torch's distribution checks on, then off as ``configure_torch`` sets."""
    if request.param.endswith("workers"):
        configure_torch(Config(torch_threads=0))
    yield
    torch.distributions.Distribution.set_default_validate_args(True)  # torch's default


def test_configure_torch_turns_the_distribution_checks_off() -> None:
    bad_logits = torch.tensor([[float("nan"), 0.0]])
    with pytest.raises(ValueError):
        torch.distributions.Categorical(logits=bad_logits)
    try:
        configure_torch(Config(torch_threads=0))
        torch.distributions.Categorical(logits=bad_logits)  # unchecked: no error
    finally:
        torch.distributions.Distribution.set_default_validate_args(True)


@pytest.mark.parametrize("deterministic", [True, False])
@pytest.mark.usefixtures("torch_checks")
def test_never_chooses_an_illegal_placement(deterministic: bool) -> None:
    model = small_ppo()
    obs = observations(300)
    legal = obs[:, :, -1] > 0
    scorer = model.policy.mlp_extractor.scorer[-1]
    # Weights that make the all-zero illegal rows the best-scoring ones.
    with torch.no_grad():
        scorer.weight.fill_(-5.0)
        scorer.bias.fill_(3.0)
    for _ in range(3 if not deterministic else 1):
        actions, _ = model.predict(obs, deterministic=deterministic)
        assert legal[np.arange(len(obs)), actions].all()
    with torch.no_grad():
        dist = model.policy.get_distribution(torch.as_tensor(obs))
        probs = dist.distribution.probs.numpy()
    assert probs[~legal].max() < 1e-6
    assert np.isfinite(dist.entropy().numpy()).all()


@pytest.mark.usefixtures("torch_checks")
def test_a_rollout_step_draws_from_sb3s_distribution() -> None:
    """The policy's own ``forward`` (no Categorical) gives what SB3's path would."""
    model = small_ppo()
    with torch.no_grad():
        torch.nn.init.normal_(model.policy.mlp_extractor.scorer[-1].weight, std=0.3)
    obs = torch.as_tensor(observations(200))
    legal = obs[:, :, -1] > 0
    with torch.no_grad():
        actions, values, log_prob = model.policy(obs)
        sb3_values, sb3_log_prob, _ = model.policy.evaluate_actions(obs, actions)
        greedy, _, _ = model.policy(obs, deterministic=True)
        probs = model.policy.get_distribution(obs).distribution.probs
    assert legal[torch.arange(len(obs)), actions].all()
    torch.testing.assert_close(values, sb3_values)
    torch.testing.assert_close(log_prob, sb3_log_prob, rtol=1e-5, atol=1e-5)
    assert torch.equal(greedy, probs.argmax(dim=1))
    # Draws from one board follow its probabilities (4,000 draws: within 0.03).
    one = obs[7:8].expand(4000, -1, -1)
    with torch.no_grad():
        draws, _, _ = model.policy(one)
    seen = torch.bincount(draws, minlength=probs.shape[1]).double() / len(draws)
    assert probs[7].max() > 2 * probs[7][legal[7]].min()
    assert (seen - probs[7].double()).abs().max() < 0.03


def test_the_inverse_cdf_draw_never_takes_an_illegal_placement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Even a uniform draw at float32's top (1 - 2**-24) lands on the last legal row."""
    logits = torch.full((3, 40), ILLEGAL_LOGIT)
    logits[0, [0, 5]] = 0.0  # last legal placement in the middle
    logits[1, 39] = 3.0  # only the last
    logits[2, :] = torch.linspace(-2, 2, 40)  # all legal
    log_probs = torch.log_softmax(logits, dim=-1)
    top = torch.tensor(1 - 2**-24, dtype=torch.float32)
    monkeypatch.setattr(torch, "rand", lambda n, _one, **_: top.expand(n, 1).clone())
    assert sample_placements(log_probs).tolist() == [5, 39, 39]
    monkeypatch.setattr(torch, "rand", lambda n, _one, **_: torch.zeros(n, 1))
    assert sample_placements(log_probs).tolist() == [0, 39, 0]


def test_untrained_policy_is_uniform_over_legal_placements() -> None:
    model = small_ppo()
    obs = observations(20)
    with torch.no_grad():
        probs = model.policy.get_distribution(torch.as_tensor(obs)).distribution.probs.numpy()
    legal = obs[:, :, -1] > 0
    expected = legal / legal.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(probs, expected, atol=1e-6)


def test_save_load_round_trip(tmp_path: Path) -> None:
    model = small_ppo()
    model.learn(256)
    obs = observations(64)
    path = tmp_path / "model.zip"
    model.save(path)
    loaded = PPO.load(path, device="cpu")
    assert isinstance(loaded.policy, PlacementPolicy)
    a1, _ = model.predict(obs, deterministic=True)
    a2, _ = loaded.predict(obs, deterministic=True)
    np.testing.assert_array_equal(a1, a2)
    actions = torch.as_tensor(a1)
    with torch.no_grad():
        v1, lp1, e1 = model.policy.evaluate_actions(torch.as_tensor(obs), actions)
        v2, lp2, e2 = loaded.policy.evaluate_actions(torch.as_tensor(obs), actions)
    torch.testing.assert_close(lp1, lp2)
    torch.testing.assert_close(v1, v2)
    torch.testing.assert_close(e1, e2)
