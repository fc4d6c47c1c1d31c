"""The app when things go wrong: hang-up, live resizing, a worker exception, long runs."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import time

import pytest
from test_ui_tmux import Tmux, cli_command, finished_games, wait_screen
from ui_helpers import child_pids, fixed_board, real_config

from tetris_tui import protocol as p
from tetris_tui.proctree import pid_alive
from tetris_tui.runs.trainers import live_trainer
from tetris_tui.ui.app import TetrisApp
from tetris_tui.ui.screens.error import ErrorScreen
from tetris_tui.ui.widgets.episodes import EpisodeLog

needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

SIZES = [(40, 12), (300, 80), (80, 24), (55, 14), (160, 50), (100, 30), (41, 13), (250, 70)]


@needs_tmux
def test_live_resizing_then_hang_up_leaves_only_the_trainer(tmp_path):
    run_dir = tmp_path / "run"
    args = [*cli_command(), "--checkpoints", str(run_dir), "--env", "raw", "--n-envs", "1"]
    args += ["--n-steps", "128", "--batch-size", "64", "--device", "cpu"]
    tmux = Tmux(100, 30)
    tmux.start(" ".join(f"'{a}'" for a in args), {**os.environ, "TERM": "xterm-256color"})
    try:
        wait_screen(tmux, lambda s: "idle" in s and "board" in s, 30)
        pane = tmux.pane_pid()
        tmux.keys("s")
        wait_screen(tmux, lambda s: finished_games(s) >= 1, 90)
        for _ in range(3):
            for width, height in SIZES:
                tmux.run("resize-window", "-t", "ui", "-x", str(width), "-y", str(height))
                time.sleep(0.15)
        tmux.run("resize-window", "-t", "ui", "-x", "100", "-y", "30")
        screen = wait_screen(tmux, lambda s: "RUNNING" in s and "episodes" in s, 20)
        assert "Traceback" not in screen
        tree = [pane, *child_pids(pane)]
        assert len(tree) >= 2
        tmux.kill()  # the terminal goes away: SIGHUP to the app
        trainer = live_trainer(run_dir)
        assert trainer is not None and trainer.pid in tree
        # The app ends; the trainer goes on (tetris-tui ls and attach find it).
        others = [pid for pid in tree if pid != trainer.pid]
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and any(pid_alive(pid) for pid in others):
            time.sleep(0.2)
        assert not [pid for pid in others if pid_alive(pid)], "processes left behind"
        assert pid_alive(trainer.pid)
        os.kill(trainer.pid, signal.SIGTERM)  # it stops with a save on SIGTERM
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and pid_alive(trainer.pid):
            time.sleep(0.2)
        assert not pid_alive(trainer.pid)
        assert (run_dir / "latest" / "model.zip").is_file()
    finally:
        tmux.kill()


async def test_worker_exception_shows_the_traceback_and_s_starts_again(tmp_path, monkeypatch):
    monkeypatch.setenv("TETRIS_TUI_FAULT", "raise-at-step:300")
    config = real_config(tmp_path / "run", checkpoint_every=128)
    app = TetrisApp(config)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("s")
        deadline = time.monotonic() + 90
        while not isinstance(app.screen, ErrorScreen) and time.monotonic() < deadline:
            await pilot.pause(0.2)
        assert isinstance(app.screen, ErrorScreen)
        assert app.state == p.CRASHED
        assert "RuntimeError" in app.last_error.message
        assert "Traceback (most recent call last)" in app.last_error.traceback
        assert (tmp_path / "run" / "latest" / "model.zip").is_file()
        monkeypatch.delenv("TETRIS_TUI_FAULT")
        while app.session.alive and time.monotonic() < deadline:
            await pilot.pause(0.1)  # the failed worker is on its way out
        await pilot.pause(0.3)
        await pilot.press("s")  # start again from the last checkpoint
        deadline = time.monotonic() + 90
        while app.state != p.RUNNING and time.monotonic() < deadline:
            await pilot.pause(0.2)
        assert app.state == p.RUNNING
        await pilot.press("q", "x")  # stop training, then quit
    assert not app.session.alive


async def test_a_million_events_keep_memory_flat(tmp_path):
    """Every buffer between the queue and the screen is bounded."""
    app = TetrisApp(real_config(tmp_path / "run"))
    frame = fixed_board()
    now = time.time()

    def batch(start: int) -> list[p.Event]:
        events: list[p.Event] = []
        for i in range(start, start + 500):
            if i % 5 == 0:
                events.append(p.Episode(i, i % 7, float(i % 13), 20 + i % 9, 25, i * 10, now, 0.1))
            elif i % 5 == 1:
                events.append(
                    p.Metrics(
                        i * 10,
                        1000.0,
                        i,
                        1.0,
                        1.0,
                        1.0,
                        3.0,
                        2.0,
                        20.0,
                        {"entropy": 1.0, "value_loss": 0.5, "approx_kl": 0.01},
                    )
                )
            else:
                events.append(frame)
        return events

    async with app.run_test(size=(160, 50)) as pilot:
        rss = []
        for n in range(2000):  # 2000 batches of 500: a million events
            app.apply_events(batch(n * 500))
            if n % 100 == 99:
                await pilot.pause()
                rss.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        log = app.query_one(EpisodeLog)
        assert log.row_count <= log.max_rows
    growth_mb = (rss[-1] - rss[2]) / 1024
    assert growth_mb < 30, f"memory grew {growth_mb:.1f} MB after warm-up: {rss}"
