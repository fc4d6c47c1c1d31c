"""Shared fixtures: small, fast, real training configs and event helpers."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tetris_tui.config import Config, EnvConfig, PPOConfig
from tetris_tui.protocol import Event
from tetris_tui.session.spawned import TrainingSession


def small_config(run_dir: Path, **changes: object) -> Config:
    """A real PPO on the real raw env, sized so a test trains in seconds."""
    base = Config(
        total_timesteps=100_000,
        n_envs=1,
        run_dir=run_dir,
        checkpoint_every=100_000,
        fps=30.0,
        metrics_hz=10.0,
        seed=1,
        device="cpu",
        env=EnvConfig(kind="raw"),
        # A slow learner: games stay short, so 100 games (a full window) take ~2,000 steps.
        ppo=PPOConfig(n_steps=128, batch_size=64, n_epochs=2, learning_rate=3e-4),
    )
    return base.replace(**changes)


@pytest.fixture(autouse=True, scope="session")
def _private_trainer_registry(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Trainers started by tests register in a registry of their own, not the user's."""
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("state"))


@pytest.fixture(autouse=True)
def _private_config_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The app's preferences (ui/preferences.py) go to a config dir of each test's own:
    no test reads the user's theme or keys or another test's, none writes the real home."""
    home = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def _no_trainer_left_behind():
    """A trainer outlives its app on purpose; a test must not leave one training.

    Whatever a test left running is stopped (SIGTERM: it saves and exits), and the
    test fails: every trainer a test starts must be stopped by the test.
    """
    yield
    from tetris_tui.runs.trainers import registered_trainers

    left = registered_trainers()
    for card in left:
        with contextlib.suppress(OSError):
            os.kill(card.pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while any(card.alive() for card in left) and time.monotonic() < deadline:
        time.sleep(0.1)
    for card in left:
        if card.alive():
            with contextlib.suppress(OSError):
                os.kill(card.pid, signal.SIGKILL)
    assert not left, f"trainers left running: {[(c.pid, c.run_dir) for c in left]}"


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return tmp_path / "run"


def collect_until(
    session: TrainingSession,
    done: Callable[[list[Event]], bool],
    timeout: float = 60.0,
    seen: list[Event] | None = None,
) -> list[Event]:
    """Drain events until ``done(events)`` holds; fail the test on timeout."""
    events = seen if seen is not None else []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events.extend(session.drain())
        if done(events):
            return events
        time.sleep(0.02)
    kinds = sorted({e.kind for e in events})
    raise AssertionError(f"timed out after {timeout}s; saw kinds {kinds}, state {session.state}")


def of_kind(events: list[Event], kind: type) -> list:
    return [e for e in events if isinstance(e, kind)]


@pytest.fixture
def session():
    s = TrainingSession()
    yield s
    s.stop(timeout=10)


def boards_in_play(model: Any, env: Any, moves: int = 20) -> Any:
    """Observations of games in progress on ``env`` (a VecEnv), played by the model's
    live policy: an empty board leaves greedy players little to choose between."""
    import numpy as np

    obs = env.reset()
    seen = []
    for _ in range(moves):
        actions, _ = model.policy.predict(obs, deterministic=False)
        obs, *_ = env.step(actions)
        seen.append(obs)
    return np.concatenate(seen)


def random_placements(env: Any, steps: int, seed: int) -> Iterator[tuple[Any, list[dict]]]:
    """Random legal placements on a ``PlacementVecEnv`` (reset first), ``steps`` steps:
    each step's dones and infos. Random play clears a line now and then."""
    import numpy as np

    obs = env.reset()
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        scores = rng.random(obs.shape[:2]) * (obs[:, :, -1] > 0)
        obs, _, dones, infos = env.step(scores.argmax(axis=1))
        yield dones, infos
