"""Watching a saved agent play (real play worker, Pilot) and periodic evaluation."""

from __future__ import annotations

import json
import time

from conftest import collect_until, of_kind, small_config
from textual.widgets import DataTable

from tetris_tui import protocol as p
from tetris_tui.config import EnvConfig
from tetris_tui.session.spawned import TrainingSession
from tetris_tui.ui.app import TetrisApp
from tetris_tui.ui.screens.models import ModelsScreen
from tetris_tui.ui.widgets.board import BoardView
from tetris_tui.ui.widgets.episodes import EpisodeLog


def _ended(events):
    return any(isinstance(e, p.Status) and e.state in p.TERMINAL_STATES for e in events)


def _train(run_dir, **changes):
    session = TrainingSession()
    session.start(small_config(run_dir, **changes))
    events = collect_until(session, _ended, timeout=120)
    session.stop()
    return events


async def test_play_best_plays_games_on_the_board(run_dir):
    # best is judged on 100 games: ~2,000 placements of a new agent.
    _train(run_dir, total_timesteps=3072, env=EnvConfig(kind="placement"))
    assert (run_dir / "best" / "model.zip").is_file()
    config = small_config(run_dir, fps=30.0, pace=60.0)  # the spectator plays fast
    app = TetrisApp(config, play_model=run_dir / "best")
    async with app.run_test(size=(100, 30)) as pilot:
        deadline = time.monotonic() + 90
        log = app.query_one(EpisodeLog)
        while log.games < 2 and time.monotonic() < deadline:
            await pilot.pause(0.2)
        assert log.games >= 2, "the agent finished no games"
        board = app.query_one(BoardView)
        assert board.frame is not None and any(board.frame.cells)
        assert app.state == p.RUNNING
        await pilot.press("p")
        deadline = time.monotonic() + 20
        while app.state != p.PAUSED and time.monotonic() < deadline:
            await pilot.pause(0.1)
        assert app.state == p.PAUSED
        await pilot.press("q")
    assert not app.session.alive


async def test_models_screen_plays_the_selected_model(run_dir):
    _train(run_dir, total_timesteps=256)
    app = TetrisApp(small_config(run_dir, step_delay=0.001))
    async with app.run_test(size=(120, 32)) as pilot:
        await pilot.pause(0.3)
        await pilot.press("m")
        await pilot.pause(0.3)
        assert isinstance(app.screen, ModelsScreen)
        assert app.screen.query_one(DataTable).row_count >= 2
        await pilot.press("enter")
        deadline = time.monotonic() + 60
        while app.state != p.RUNNING and time.monotonic() < deadline:
            await pilot.pause(0.2)
        assert app.state == p.RUNNING
        await pilot.press("q")
    assert not app.session.alive


def test_periodic_evaluation_reaches_the_ui_and_meta(run_dir):
    config = small_config(
        run_dir, env=EnvConfig(kind="placement"), eval_every=256, eval_games=2, total_timesteps=768
    )
    session = TrainingSession()
    try:
        session.start(config)
        events = collect_until(session, _ended, timeout=180)
    finally:
        session.stop()
    evaluations = of_kind(events, p.Evaluation)
    assert len(evaluations) >= 2
    assert all(e.games == 2 and e.lines_max >= e.lines_mean >= 0 for e in evaluations)
    meta = json.loads((run_dir / "final" / "meta.json").read_text())
    assert meta["last_eval"]["games"] == 2
    assert meta["last_eval"]["timesteps"] == evaluations[-1].timesteps
