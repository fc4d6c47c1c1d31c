"""A diverged policy stops training as crashed, in one line, and keeps its last good checkpoint.

A learning rate of 1e20 turns the loss to NaN at the first update. Before, nothing
noticed: NaN scores drew placement 0 every time, games ended at once, ``latest``
was saved full of NaN, and the run "trained" on.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
import torch
from reliability_helpers import Headless, load_ppo, read_json

from tetris_tui.config import Config, PPOConfig
from tetris_tui.policy.lean_ppo import LeanPPO
from tetris_tui.policy.placement import TrainingDiverged, sample_placements
from tetris_tui.worker.model_factory import build_vec_env, configure_torch, new_model

HUGE_LR = 1e20


def _finite(policy: torch.nn.Module) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in policy.parameters())


def test_nan_scores_raise_instead_of_drawing_placement_zero() -> None:
    log_probs = torch.log_softmax(torch.tensor([[0.0, 1.0, 2.0], [0.0, float("nan"), 1.0]]), -1)
    with pytest.raises(TrainingDiverged, match="placement scores are NaN or infinite"):
        sample_placements(log_probs)
    assert sample_placements(log_probs[:1]).shape == (1,)  # finite rows still draw


@pytest.fixture(autouse=True)
def _torch_settings_restored() -> Iterator[None]:
    """``configure_torch`` sets process-wide settings, as in a worker; put them back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)
    torch.distributions.Distribution.set_default_validate_args(True)


@pytest.mark.parametrize("policy", ["placement", "MlpPolicy"])
def test_a_diverged_update_raises_naming_the_learning_rate(policy: str) -> None:
    """Both updates (the lean one and SB3's own) are checked, before the average takes them in."""
    ppo = PPOConfig(n_steps=32, batch_size=64, n_epochs=1)
    config = Config(seed=1, torch_threads=1, n_envs=4, ppo=ppo)
    configure_torch(config)  # as in the worker: torch's own checks off
    venv = build_vec_env(config)
    if policy == "placement":
        model = new_model(config, venv)
    else:
        model = LeanPPO(policy, venv, n_steps=32, batch_size=64, n_epochs=1, seed=1)
        model.greedy_average_steps = ppo.greedy_average_steps
    assert isinstance(model, LeanPPO)
    model.learn(128 * 2)  # good updates, averaged
    averaged = [p.detach().clone() for p in model.greedy_policy.parameters()]
    model.lr_schedule = lambda _progress: HUGE_LR
    with pytest.raises(TrainingDiverged) as raised:
        model.learn(128 * 8, reset_num_timesteps=False)
    message = str(raised.value)
    assert message.startswith("training diverged at 384 timesteps: ")
    assert "the learning rate (1e+20) is the likely cause" in message
    assert "\n" not in message
    # What predict and save use is the average of the good updates, untouched.
    for before, after in zip(averaged, model.greedy_policy.parameters(), strict=True):
        assert torch.equal(before, after)
    assert _finite(model.greedy_policy)


@pytest.mark.slow
def test_a_diverging_worker_ends_crashed_with_one_line_and_a_finite_latest(tmp_path) -> None:
    """The real program: ``--headless`` on the default placement env with a huge learning rate."""
    run = tmp_path / "run"
    options = ["--n-envs", "16", "--n-steps", "32", "--batch-size", "128", "--n-epochs", "1"]
    options += ["--device", "cpu", "--seed", "1", "--checkpoint-every", "256"]
    options += ["--learning-rate", str(HUGE_LR), "--total-timesteps", "8192"]
    # ``Headless`` puts the raw env's fast options first; these come after, so they win.
    headless = Headless(run, "--env", "placement", *options)
    try:
        rc = headless.finish(timeout=120)
    finally:
        headless.kill()
    assert rc == 1, headless.lines
    errors = [line for line in headless.lines if line.startswith("error: ")]
    assert len(errors) == 1, headless.lines
    assert errors[0].startswith("error: TrainingDiverged: training diverged at 512 timesteps: ")
    assert "the learning rate (1e+20) is the likely cause" in errors[0]
    assert headless.lines[-1].startswith("[crashed] TrainingDiverged: training diverged")
    # The last good checkpoint, from before the update that diverged, is kept as it was.
    assert read_json(run / "latest" / "meta.json")["timesteps"] == 512
    saved = load_ppo(run / "latest" / "model.zip")
    assert saved.num_timesteps == 512 and _finite(saved.policy)
    assert not (run / "final").exists()
    assert math.isfinite(read_json(run / "latest" / "meta.json")["lines_mean"] or 0.0)
