"""A resume carries on the saved line of training only (issue #20), through the real worker.

A trainer that dies after its last save leaves games in events.jsonl that no
checkpoint counts (a lost branch); the next trainer resumes from the save and
numbers its games after them. The fixture makes one: a placement run saves
``latest`` at 2,048 timesteps and crashes at 2,600. Then:

- a later resume judges best and the target on a window without the lost games;
- the app that reopens the run shows the timesteps it resumes from, and the
  display never goes back when training starts.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from conftest import collect_until, of_kind, small_config

from tetris_tui import protocol as p
from tetris_tui.config import EnvConfig
from tetris_tui.runs.runlog import EVENTS_FILE, recent_games
from tetris_tui.session.spawned import TrainingSession
from tetris_tui.worker.game_stats import WINDOW

pytestmark = pytest.mark.slow

SAVED = 2048  # latest of the crashed run
CRASH = 2600  # ~25 games past it, never saved


def _config(run_dir: Path, **changes: object):
    return small_config(run_dir, env=EnvConfig(kind="placement"), checkpoint_every=1024).replace(
        **changes
    )


def _ended(events: list) -> bool:
    return any(isinstance(e, p.Status) and e.state in p.TERMINAL_STATES for e in events)


def _run(run_dir: Path, **changes: object) -> list:
    session = TrainingSession()
    try:
        session.start(_config(run_dir, **changes))
        return collect_until(session, _ended, timeout=120)
    finally:
        session.stop(timeout=15)


def _games(run_dir: Path, begin: int = 0, end: int | None = None) -> list[dict]:
    """The games recorded between two byte offsets of events.jsonl."""
    data = (run_dir / EVENTS_FILE).read_bytes()[begin:end]
    records = [json.loads(line) for line in data.splitlines() if line.strip()]
    return [r for r in records if r.get("kind") == "episode"]


def _meta(run_dir: Path) -> dict:
    return json.loads((run_dir / p.LATEST / "meta.json").read_text())


@pytest.fixture(scope="module")
def crashed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("lineage") / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TETRIS_TUI_FAULT", f"raise-at-step:{CRASH}")
        events = _run(run_dir, total_timesteps=8192)
    assert of_kind(events, p.Status)[-1].state == p.CRASHED
    assert _meta(run_dir)["timesteps"] == SAVED
    lost = [g for g in _games(run_dir) if g["timesteps"] > SAVED]
    assert len(lost) >= 5, "the crashed run played no games past its save"
    return run_dir


@pytest.fixture
def run_dir(crashed: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(crashed, copy)
    return copy


def test_a_resumed_window_holds_no_game_of_a_lost_branch(run_dir):
    first = (run_dir / EVENTS_FILE).stat().st_size
    # A resume from 2,048 that plays fewer than 100 games: its window reaches back
    # past its own games, over the lost ones, into the crashed run's saved games.
    _run(run_dir, total_timesteps=SAVED + 512)
    second = (run_dir / EVENTS_FILE).stat().st_size
    saved = _meta(run_dir)
    lost = [g for g in _games(run_dir, 0, first) if g["timesteps"] > SAVED]
    lineage = [g for g in _games(run_dir, 0, first) if g["timesteps"] <= SAVED]
    lineage += _games(run_dir, first, second)
    assert lineage[-1]["episode"] == saved["episodes"]
    assert lineage[-WINDOW]["episode"] < lost[0]["episode"]  # the window spans the lost games

    # What a resume restores (trainer.py reads it so)...
    window = recent_games(run_dir, WINDOW, upto=saved["episodes"]).games
    assert [g.episode for g in window] == [g["episode"] for g in lineage[-WINDOW:]]

    # ... and what the real trainer judges on: the figures of its first ticks.
    events = _run(run_dir, total_timesteps=SAVED + 512 + 256)
    lineage += _games(run_dir, second)
    ticks = [m for m in of_kind(events, p.Metrics) if m.lines_mean is not None]
    assert ticks, "no metrics from the resumed run"
    for tick in ticks:
        games = [g for g in lineage if g["episode"] <= tick.episodes][-WINDOW:]
        assert tick.pieces_mean == pytest.approx(sum(g["pieces"] for g in games) / WINDOW)
        assert tick.lines_mean == pytest.approx(sum(g["lines"] for g in games) / WINDOW)


async def test_a_reopened_run_shows_where_it_resumes_and_never_goes_back(run_dir):
    from tetris_tui.ui.app import TetrisApp

    app = TetrisApp(_config(run_dir, total_timesteps=SAVED + 256, fps=20.0))
    async with app.run_test(size=(100, 30)) as pilot:
        deadline = time.monotonic() + 30
        while app.main.status_bar.info.timesteps == 0 and time.monotonic() < deadline:
            await pilot.pause(0.05)  # the reopened run's history is shown
        await pilot.pause(0.3)
        shown = app.main.status_bar.info.timesteps
        assert shown == SAVED  # not the lost games' timesteps (up to 2,600)
        await pilot.press("s")
        seen = []
        deadline = time.monotonic() + 150
        while app.state != p.FINISHED and time.monotonic() < deadline:
            seen.append(app.main.status_bar.info.timesteps)
            await pilot.pause(0.05)
        assert app.state == p.FINISHED
        # The final figures follow the end within a moment, even when the whole run
        # fit inside one panel tick (nothing after the end would flush them).
        deadline = time.monotonic() + 5
        while app.main.status_bar.info.timesteps <= shown and time.monotonic() < deadline:
            await pilot.pause(0.05)
        seen.append(app.main.status_bar.info.timesteps)
        assert min(seen) >= shown, f"went back from {shown:,} to {min(seen):,}"
        assert max(seen) > shown
        await pilot.press("q")
        deadline = time.monotonic() + 30
        while app.is_running and time.monotonic() < deadline:
            await pilot.pause(0.1)
