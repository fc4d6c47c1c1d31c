"""A run that reached its ``--target-lines`` is finished (issue #20), like one at its total.

Through the real worker and the real app: one placement run trains until its
window of 100 games reaches a tiny target; each test starts from a copy of it.
Starting it again with the same target says so in one line and rewrites
nothing; a higher target trains it on.
"""

from __future__ import annotations

import io
import json
import shutil
import time
from pathlib import Path

import pytest
from conftest import collect_until, of_kind, small_config

from tetris_tui import protocol as p
from tetris_tui.config import EnvConfig
from tetris_tui.session.spawned import TrainingSession

pytestmark = pytest.mark.slow

TARGET = 0.01  # random placements clear a line now and then: ~100 games reach it


def _config(run_dir: Path, **changes: object):
    return small_config(
        run_dir, env=EnvConfig(kind="placement"), total_timesteps=200_000, target_lines=TARGET
    ).replace(**changes)


def _ended(events: list) -> bool:
    return any(isinstance(e, p.Status) and e.state in p.TERMINAL_STATES for e in events)


def _saved(run_dir: Path) -> dict[str, str]:
    """meta.json of latest and final, as text: any save rewrites them (saved_at)."""
    return {w: (run_dir / w / "meta.json").read_text() for w in (p.LATEST, p.FINAL)}


@pytest.fixture(scope="module")
def reached(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("target") / "run"
    session = TrainingSession()
    try:
        session.start(_config(run_dir))
        events = collect_until(session, _ended, timeout=180)
    finally:
        session.stop(timeout=15)
    last = of_kind(events, p.Status)[-1]
    assert last.state == p.FINISHED and "target" in last.message
    return run_dir


@pytest.fixture
def run_dir(reached: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(reached, copy)
    return copy


def test_the_trainer_leaves_a_run_at_its_target_untouched_and_a_higher_target_trains_on(
    run_dir,
):
    before = _saved(run_dir)
    meta = json.loads(before[p.LATEST])
    session = TrainingSession()
    try:
        session.start(_config(run_dir))
        events = collect_until(session, _ended, timeout=90)
    finally:
        session.stop(timeout=15)
    last = of_kind(events, p.Status)[-1]
    assert last.state == p.FINISHED and "reached its target" in last.message
    assert not of_kind(events, p.Episode) and not of_kind(events, p.Checkpoint)
    assert _saved(run_dir) == before

    # A target it has not reached yet: training goes on from latest.
    session = TrainingSession()
    try:
        session.start(_config(run_dir, target_lines=1000.0))
        events = collect_until(session, lambda ev: bool(of_kind(ev, p.Episode)), timeout=90)
    finally:
        session.stop(timeout=15)
    running = [e for e in of_kind(events, p.Status) if e.state == p.RUNNING]
    assert running and running[0].timesteps == meta["timesteps"]


async def test_s_in_the_app_and_headless_say_the_run_is_finished(run_dir):
    from tetris_tui.headless import run_headless
    from tetris_tui.ui.app import TetrisApp

    before = _saved(run_dir)
    notes: list[str] = []
    app = TetrisApp(_config(run_dir, fps=20.0))
    async with app.run_test(size=(100, 30)) as pilot:
        original = app.notify
        app.notify = lambda message, **kw: (notes.append(message), original(message, **kw))  # type: ignore[method-assign]
        deadline = time.monotonic() + 30
        while app.timesteps == 0 and time.monotonic() < deadline:
            await pilot.pause(0.1)  # the reopened run's history is shown
        await pilot.press("s")
        deadline = time.monotonic() + 10
        while not notes and time.monotonic() < deadline:
            await pilot.pause(0.1)
        await pilot.pause(0.5)  # a start would be under way by now
        assert notes and "reached its target" in notes[-1]
        assert "--target-lines" in notes[-1]
        assert not app.session.alive and app.state not in (p.STARTING, p.RUNNING)
    assert _saved(run_dir) == before

    out = io.StringIO()
    assert run_headless(_config(run_dir), out=out) == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and "reached its target" in lines[0]
    assert _saved(run_dir) == before
