"""A viewer whose trainer has ended works as any app (issue #20): `s` starts a trainer
of its own and play from the models screen plays, with the real worker and socket."""

from __future__ import annotations

import time

import pytest
from conftest import collect_until, of_kind, small_config
from ui_helpers import real_config

from tetris_tui import protocol as p
from tetris_tui.config import Config
from tetris_tui.session.attached import AttachedSession
from tetris_tui.session.spawned import TrainingSession
from tetris_tui.ui.app import TetrisApp

pytestmark = pytest.mark.slow


async def _until(app: TetrisApp, pilot, condition, timeout: float = 90.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}: state {app.state}"
        await pilot.pause(0.1)


async def test_s_and_play_in_a_viewer_whose_trainer_ended(run_dir):
    from tetris_tui.ui.screens.models import ModelsScreen

    first = TrainingSession()
    first.start(small_config(run_dir, total_timesteps=100_000))
    viewer = AttachedSession(run_dir)
    try:
        collect_until(first, lambda ev: len(of_kind(ev, p.Episode)) >= 1, timeout=90)
        viewer.attach()
        config = real_config(run_dir)
        assert isinstance(config, Config)
        app = TetrisApp(config, session_factory=lambda: viewer)
        async with app.run_test(size=(100, 30)) as pilot:
            await _until(app, pilot, lambda: app.state == p.RUNNING, what="running")
            await pilot.press("x")  # the viewer stops the trainer: it saves and ends
            await _until(
                app, pilot, lambda: app.state == p.STOPPED and not viewer.alive, what="ended"
            )
            first.stop(timeout=15)
            await pilot.press("s")  # a trainer of its own
            await _until(app, pilot, lambda: app.state == p.RUNNING, what="a new trainer")
            assert isinstance(app.session, TrainingSession) and app.session.alive
            await pilot.press("x")
            await _until(app, pilot, lambda: not app.session.alive, what="stopped again")
            await pilot.press("m")
            await _until(app, pilot, lambda: isinstance(app.screen, ModelsScreen), what="models")
            await pilot.pause(0.5)
            await pilot.press("enter")  # play the selected model
            await _until(
                app,
                pilot,
                lambda: app.play_model is not None and app.state == p.RUNNING,
                what="play",
            )
            played = app.session
            await pilot.press("q")
            await _until(app, pilot, lambda: not played.alive, timeout=30, what="play ends")
    finally:
        viewer.detach()
        first.stop(timeout=15)
