"""A damaged ``latest`` checkpoint: one clear line, moved aside, a fresh start.

Through the real program: ``tetris-tui --headless`` on a run directory whose
``latest`` was truncated, overwritten with garbage, given a bad meta.json, or
comes from another game. It must say so in one ``warning:`` line that
names the file and why, move the directory aside (``latest.bad-<stamp>/`` with
WHY.txt, the damaged bytes untouched), train from scratch and write a new
``latest``.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from reliability_helpers import Headless, load_ppo, read_json

GOOD_STEPS = 256


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run directory with a good raw-env ``latest`` at 256 timesteps.

    Saved here the way the worker saves it (no training: that is tested elsewhere,
    and a worker start-up per module is time better spent on the cases).
    """
    from conftest import small_config

    from tetris_tui.runs.checkpoints import package_versions, save_checkpoint
    from tetris_tui.worker.model_factory import build_vec_env, new_model

    run = tmp_path_factory.mktemp("good") / "run"
    config = small_config(run)
    venv = build_vec_env(config)
    try:
        model = new_model(config, venv)
        model.num_timesteps = GOOD_STEPS
        meta = {
            "timesteps": GOOD_STEPS,
            "episodes": 3,
            "config": config.to_dict(),
            "versions": package_versions(),
        }
        save_checkpoint(model, run, "latest", meta)
    finally:
        venv.close()
    assert load_ppo(run / "latest" / "model.zip").num_timesteps == GOOD_STEPS
    return run


def _truncate(latest: Path) -> str:
    data = (latest / "model.zip").read_bytes()
    (latest / "model.zip").write_bytes(data[: len(data) // 2])
    return "model.zip"


def _garbage(latest: Path) -> str:
    (latest / "model.zip").write_bytes(random.Random(6).randbytes(40_000))
    return "model.zip"


def _bad_meta(latest: Path) -> str:
    (latest / "meta.json").write_text('{"timesteps": 256, "config": {')
    return "meta.json"


def _other_spaces(latest: Path) -> str:
    """A perfectly good model.zip, for another game (CartPole): the spaces differ."""
    from stable_baselines3 import PPO

    PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=32, device="cpu").save(
        latest / "model.zip"
    )
    return "model.zip"


CASES = [
    ("truncated", _truncate, [], ""),
    ("garbage", _garbage, [], ""),
    ("bad-meta", _bad_meta, [], "not valid JSON"),
    ("other-spaces", _other_spaces, [], "spaces do not match"),
]


@pytest.mark.parametrize(
    ("damage", "extra", "why"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_damaged_latest_is_moved_aside_and_training_starts_fresh(
    trained_run, tmp_path, damage, extra, why
):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    culprit = damage(run / "latest")
    damaged = (run / "latest" / culprit).read_bytes()
    total = 2 * GOOD_STEPS  # beyond the saved run, so it is not a finished one
    headless = Headless(run, "--total-timesteps", str(total), *extra)
    try:
        rc = headless.finish(timeout=120)
    finally:
        headless.kill()
    assert rc == 0, headless.stderr
    assert headless.stderr == ""

    # One line, naming the file and why.
    told = [line for line in headless.lines if "could not be loaded" in line]
    assert len(told) == 1, headless.lines
    line = told[0]
    assert line.startswith(f"warning: checkpoint {run / 'latest' / culprit} could not be loaded (")
    assert why in line
    assert f"moved aside to {run}/latest.bad-" in line and line.endswith("starting fresh")

    # Moved aside, not overwritten: the damaged bytes are still there, with the reason.
    aside = list(run.glob("latest.bad-*"))
    assert len(aside) == 1 and str(aside[0]) in line
    assert (aside[0] / culprit).read_bytes() == damaged
    reason = (aside[0] / "WHY.txt").read_text()
    assert reason.startswith(f"{culprit}: ") and why in reason

    # A fresh start (from 0, not resumed), and a new latest that loads.
    assert "[running]" in headless.lines
    assert not any(line.startswith("resuming") for line in headless.lines)
    assert headless.lines[-1].startswith("[finished]")
    assert read_json(run / "latest" / "meta.json")["timesteps"] == total
    assert load_ppo(run / "latest" / "model.zip").num_timesteps == total
