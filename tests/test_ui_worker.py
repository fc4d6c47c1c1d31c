"""The app driving the REAL training worker (raw env, tiny PPO), headless via run_test."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from ui_helpers import child_pids, heavy_modules_loaded, real_config, screen_text

from tetris_tui import protocol as p
from tetris_tui.proctree import pid_alive
from tetris_tui.session.spawned import worker_pids
from tetris_tui.ui.app import TetrisApp
from tetris_tui.ui.widgets.board import BoardView
from tetris_tui.ui.widgets.episodes import EpisodeLog
from tetris_tui.ui.widgets.learning import LearningPanel

pytestmark = pytest.mark.slow


async def wait_for(pilot, check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        await pilot.pause(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def saved_timesteps(run_dir: Path) -> int:
    return json.loads((run_dir / "latest" / "meta.json").read_text())["timesteps"]


async def test_train_pause_stop_resume_and_quit_with_the_real_worker(tmp_path):
    before = set(heavy_modules_loaded())
    run_dir = tmp_path / "run"
    app = TetrisApp(real_config(run_dir))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("s")
        log = app.query_one(EpisodeLog)
        learning = app.query_one(LearningPanel)
        board = app.query_one(BoardView)
        await wait_for(
            pilot,
            lambda: (
                app.state == p.RUNNING
                and log.games >= 2
                and board.frame is not None
                and learning.series["sps"].count > 0
                and learning.updates >= 1
            ),
            90,
            "running with games, board frames, metrics and a PPO update",
        )
        text = screen_text(app)
        assert "RUNNING" in text.splitlines()[0] and "games" in text
        assert learning.series["entropy"].count >= 1

        # p pauses: the state shows PAUSED and the timesteps stop rising.
        await pilot.press("p")
        await wait_for(pilot, lambda: app.session.state == p.PAUSED, 10, "paused")
        await pilot.pause(0.5)
        held = app.timesteps
        await pilot.pause(1.5)
        assert app.state == p.PAUSED and app.timesteps == held
        assert "PAUSED" in screen_text(app).splitlines()[0]
        await pilot.press("p")
        await wait_for(pilot, lambda: app.timesteps > held, 20, "training to resume")
        assert app.state == p.RUNNING

        # x stops: the worker saves latest/ and exits.
        await pilot.press("x")
        await wait_for(
            pilot,
            lambda: app.state == p.STOPPED and not app.session.alive,
            30,
            "stopped",
        )
        assert (run_dir / "latest" / "model.zip").is_file()
        stopped_at = saved_timesteps(run_dir)
        assert stopped_at > 0

        # s again resumes from latest/.
        await pilot.press("s")
        await wait_for(
            pilot,
            lambda: app.state == p.RUNNING and app.timesteps > stopped_at,
            90,
            "resumed training",
        )
        pids = worker_pids(app.session)  # type: ignore[arg-type]
        assert pids and all(pid_alive(pid) for pid in pids)
        # q while running: checkpoint first, then exit.
        await pilot.press("q", "x")  # stop training, then quit
        deadline = time.monotonic() + 30
        while app.is_running and time.monotonic() < deadline:
            await pilot.pause(0.1)
    assert saved_timesteps(run_dir) > stopped_at
    assert not any(pid_alive(pid) for pid in pids)
    assert multiprocessing.active_children() == []
    assert child_pids() == []
    # The UI process loaded nothing heavy while training ran.
    assert set(heavy_modules_loaded()) - before == set()


async def test_a_killed_worker_shows_crashed_and_s_starts_again(tmp_path):
    run_dir = tmp_path / "run"
    app = TetrisApp(real_config(run_dir))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: app.state == p.RUNNING, 90, "running")
        pid = app.session.pid  # type: ignore[attr-defined]
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        await wait_for(pilot, lambda: app.state == p.CRASHED, 5, "crashed state")
        assert time.monotonic() - killed < 2.0  # noticed within a second or so
        assert "CRASHED" in screen_text(app).splitlines()[0]
        assert app.check_action("start", ())
        await pilot.press("s")
        await wait_for(pilot, lambda: app.state == p.RUNNING, 90, "running again")
        await pilot.press("q", "x")  # stop training, then quit
        deadline = time.monotonic() + 30
        while app.is_running and time.monotonic() < deadline:
            await pilot.pause(0.1)
    assert multiprocessing.active_children() == []
    assert child_pids() == []


SCRIPT = """
import asyncio, sys, time
sys.path.insert(0, {tests!r})
from pathlib import Path
from ui_helpers import heavy_modules_loaded, real_config
from tetris_tui.ui.app import TetrisApp

async def main():
    app = TetrisApp(real_config(Path({run!r})))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and app.query_one("#episodes").games < 1:
            await pilot.pause(0.1)
        games = app.query_one("#episodes").games
        await pilot.press("q", "x")  # stop training, then quit
        while app.is_running:
            await pilot.pause(0.1)
    print("games", games)
    print("heavy", ",".join(heavy_modules_loaded()) or "none")

if __name__ == "__main__":
    asyncio.run(main())
"""


def test_ui_process_never_imports_torch_sb3_or_the_env(tmp_path):
    """In a fresh interpreter (other tests may have loaded torch into this one)."""
    script = tmp_path / "ui_only.py"
    tests = str(Path(__file__).parent)
    script.write_text(textwrap.dedent(SCRIPT.format(tests=tests, run=str(tmp_path / "run"))))
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=150
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert any(line.startswith("games ") and line != "games 0" for line in lines), lines
    assert "heavy none" in lines, lines


async def test_a_locked_run_directory_is_refused_in_one_line(tmp_path):
    from tetris_tui.runs.runlock import RunLock

    run_dir = tmp_path / "run"
    other = RunLock(run_dir)
    other.acquire()  # as if another tetris-tui trained here
    notes: list[str] = []
    app = TetrisApp(real_config(run_dir))
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            original = app.notify
            app.notify = lambda message, **kw: (notes.append(message), original(message, **kw))
            await pilot.press("s")
            await wait_for(pilot, lambda: bool(notes), 10, "a notification")
            assert app.state == "idle" and not app.session.alive
            assert "in use by another tetris-tui" in notes[-1]
            other.release()
            await pilot.press("s")
            await wait_for(pilot, lambda: app.state == p.RUNNING, 90, "running once free")
            await pilot.press("q", "x")  # stop training, then quit
            while app.is_running:
                await pilot.pause(0.1)
    finally:
        other.release()
    assert child_pids() == []
