"""Network width is a training option (issue #23's search space), through the real worker.

``--value-width`` and ``--scorer-width`` shape the placement policy; meta.json
records them; a resumed run keeps the widths its weights were saved with and
says so when others were asked for.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import collect_until, of_kind, small_config

from tetris_tui import protocol as p
from tetris_tui.config import EnvConfig, PPOConfig
from tetris_tui.session.spawned import TrainingSession
from tetris_tui.tune.space import DEFAULT_SPACE, to_cli, training_options

pytestmark = pytest.mark.slow

SMALL = dict(n_steps=128, batch_size=64, n_epochs=2, learning_rate=3e-4)


def _run(run_dir: Path, total: int, ppo: PPOConfig) -> list:
    config = small_config(run_dir, env=EnvConfig(kind="placement"), total_timesteps=total, ppo=ppo)
    session = TrainingSession()
    try:
        session.start(config)
        ended = lambda evs: any(  # noqa: E731
            isinstance(e, p.Status) and e.state in p.TERMINAL_STATES for e in evs
        )
        return collect_until(session, ended, timeout=120)
    finally:
        session.stop(timeout=15)


def _saved(run_dir: Path) -> tuple[dict, object]:
    from stable_baselines3 import PPO

    meta = json.loads((run_dir / p.LATEST / "meta.json").read_text())
    return meta, PPO.load(run_dir / p.LATEST / "model.zip", device="cpu").policy


def test_widths_shape_the_policy_and_a_resume_keeps_them(tmp_path):
    run_dir = tmp_path / "run"
    events = _run(run_dir, 512, PPOConfig(**SMALL, value_width=32, scorer_width=8))
    assert of_kind(events, p.Status)[-1].state == p.FINISHED
    meta, policy = _saved(run_dir)
    assert tuple(policy.value_hidden) == (32, 32) and tuple(policy.scorer_hidden) == (8,)
    assert policy.mlp_extractor.scorer[0].out_features == 8  # a hidden layer, not linear
    assert meta["config"]["ppo"]["value_width"] == 32
    assert meta["ppo_in_use"]["value_width"] == 32 and meta["ppo_in_use"]["scorer_width"] == 8

    # Resumed with the default widths: the saved shape wins, and the user is told.
    events = _run(run_dir, 1024, PPOConfig(**SMALL))
    assert of_kind(events, p.Status)[-1].state == p.FINISHED
    warnings = [w.text for w in of_kind(events, p.Warning)]
    assert any("value-width 32" in w and "scorer-width 8" in w for w in warnings), warnings
    meta, policy = _saved(run_dir)
    assert meta["timesteps"] >= 1024
    assert tuple(policy.value_hidden) == (32, 32) and tuple(policy.scorer_hidden) == (8,)
    assert meta["config"]["ppo"]["value_width"] == 32  # meta says what was trained


def test_a_fresh_default_run_is_linear_with_a_64_wide_critic(tmp_path):
    run_dir = tmp_path / "run"
    events = _run(run_dir, 256, PPOConfig(**SMALL))
    assert not of_kind(events, p.Warning)
    meta, policy = _saved(run_dir)
    assert tuple(policy.value_hidden) == (64, 64) and tuple(policy.scorer_hidden) == ()
    assert meta["ppo_in_use"]["scorer_width"] == 0


def test_the_default_search_space_tunes_the_network_width():
    known = training_options()
    widths = {param.name: param for param in DEFAULT_SPACE if param.name.endswith("_width")}
    assert set(widths) == {"value_width", "scorer_width"}
    for param in widths.values():
        assert known[param.name] is int
        for choice in param.choices:  # each is a command line the trainer accepts
            assert to_cli({param.name: choice}) == [
                f"--{param.name.replace('_', '-')}",
                str(choice),
            ]
