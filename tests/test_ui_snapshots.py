"""Deterministic screen snapshots (plain text) with a fake session and fixed data.

The expected screens live in tests/snapshots/*.txt. After an intended change,
regenerate them with ``UPDATE_SNAPSHOTS=1 pytest tests/test_ui_snapshots.py``
and review the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ui_helpers import (
    FakeSession,
    WidgetHost,
    assert_snapshot,
    fixed_board,
    fixed_clock,
    fixed_events,
    screen_text,
)

from tetris_tui import protocol as p
from tetris_tui.config import Config
from tetris_tui.ui.app import TetrisApp
from tetris_tui.ui.widgets.board import BoardView


@pytest.fixture(autouse=True)
def _utc_and_short_run_dir(tmp_path, monkeypatch):
    """UTC clock; a relative run dir so the status line does not depend on tmp_path."""
    fixed_clock()
    monkeypatch.chdir(tmp_path)


CONFIG = Config(run_dir=Path("checkpoints"))


def trainer_figures() -> list[p.Event]:
    """The system strip's figures and the running games (issue #22), after fixed_events."""
    system = p.System(pid=4242, cpu_percent=97.3, rss_bytes=812 << 20, threads=14, cores=2)
    running = p.Metrics(
        timesteps=13 * 1024,
        steps_per_sec=880.0,
        episodes=26,
        elapsed_s=76.25,
        running_lines=31.5,
        running_games=4,
        updates=12,
    )
    return [system, running]


async def running_screen(tmp_path: Path, size: tuple[int, int]) -> str:
    fake = FakeSession()
    app = TetrisApp(CONFIG, session_factory=lambda: fake)
    async with app.run_test(size=size) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        fake.push(*fixed_events(), *trainer_figures())
        await pilot.pause(0.4)  # drain ticks have run
        # The panels repaint on their own clock (PANEL_HZ); the snapshot is of
        # what they show, not of when, so they are flushed now.
        app.main.flush_panels(force=True)
        await pilot.pause()
        app.clear_notifications()
        await pilot.pause()
        return screen_text(app)


async def test_board_widget_snapshot():
    board = BoardView()
    async with WidgetHost(board).run_test(size=(34, 20)) as pilot:
        board.show_frame(fixed_board())
        await pilot.pause()
        assert_snapshot("board", screen_text(pilot.app))


async def test_screen_80x24(tmp_path):
    assert_snapshot("screen_80x24", await running_screen(tmp_path, (80, 24)))


async def test_screen_120x36_with_the_run_panel(tmp_path):
    assert_snapshot("screen_120x36", await running_screen(tmp_path, (120, 36)))


async def test_screen_160x50(tmp_path):
    assert_snapshot("screen_160x50", await running_screen(tmp_path, (160, 50)))


async def test_idle_screen_80x24(tmp_path):
    app = TetrisApp(CONFIG, session_factory=FakeSession)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.pause(0.2)  # the footer's bindings settle after the history is shown
        text = screen_text(app)
    assert_snapshot("idle_80x24", text)


async def test_help_screen_80x24(tmp_path):
    app = TetrisApp(CONFIG, session_factory=FakeSession)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("question_mark")
        await pilot.pause()
        text = screen_text(app)
    assert_snapshot("help_80x24", text)
