"""The app with a scripted fake session: keys -> commands, states, errors, history."""

from __future__ import annotations

from pathlib import Path

from ui_helpers import FakeSession, fixed_board, fixed_episodes, fixed_events, screen_text

from tetris_tui import protocol as p
from tetris_tui.config import Config
from tetris_tui.runs.runlog import RunLog
from tetris_tui.ui import app as app_module
from tetris_tui.ui.app import TetrisApp
from tetris_tui.ui.screens.error import ErrorScreen
from tetris_tui.ui.screens.help import HelpScreen
from tetris_tui.ui.screens.main import BIG_BOARD_SIZE, PANEL_HZ, PANEL_SLACK
from tetris_tui.ui.widgets.board import BoardView
from tetris_tui.ui.widgets.episodes import EpisodeLog
from tetris_tui.ui.widgets.learning import LearningPanel
from tetris_tui.ui.widgets.status import StatusBar


def make(tmp_path: Path, **kwargs: object) -> tuple[TetrisApp, FakeSession]:
    fake = FakeSession()
    app = TetrisApp(Config(run_dir=tmp_path / "run"), session_factory=lambda: fake, **kwargs)
    return app, fake


# Longest a drained game or metric waits before the panels show it.
PANEL_DELAY = 1.0 / PANEL_HZ + PANEL_SLACK + 0.1


async def settle(app: TetrisApp, pilot, seconds: float = PANEL_DELAY) -> None:
    """Let thread workers finish and drain ticks run (panels repaint at PANEL_HZ)."""
    await app.workers.wait_for_complete()
    await pilot.pause(seconds)
    await pilot.pause()


async def test_start_pause_resume_stop_and_disabled_actions(tmp_path):
    app, fake = make(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert app.state == "idle"
        # Makes no sense while idle: greyed out, and the key does nothing.
        assert app.check_action("pause", ()) is None
        assert app.check_action("stop", ()) is None
        await pilot.press("p", "x")
        assert fake.sent == []
        await pilot.press("s")
        await settle(app, pilot)
        assert app.state == p.RUNNING and len(fake.started) == 1
        assert app.check_action("start", ()) is None
        assert "RUNNING" in screen_text(app).splitlines()[0]
        await pilot.press("p")
        await settle(app, pilot)
        assert app.state == p.PAUSED and isinstance(fake.sent[-1], p.Pause)
        assert "PAUSED" in screen_text(app).splitlines()[0]
        await pilot.press("p")
        await settle(app, pilot)
        assert app.state == p.RUNNING and isinstance(fake.sent[-1], p.Resume)
        await pilot.press("x")
        await settle(app, pilot)
        assert isinstance(fake.sent[-1], p.Stop)
        assert app.state == p.STOPPED and not fake.alive
        assert "saved latest" in str(app.query_one(LearningPanel).border_subtitle)
        # Stopped: s starts again.
        assert app.check_action("start", ())
        await pilot.press("s")
        await settle(app, pilot)
        assert app.state == p.RUNNING and len(fake.started) == 2


async def test_pace_and_view_keys_steer_the_spectator_never_training(tmp_path):
    app, fake = make(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        # Before a start they only change the config the start will use.
        await pilot.press("minus", "minus", "w")
        assert app.run_config().pace == 1.0 and app.run_config().view == p.VIEW_ENV
        assert app.run_config().step_delay == 0.0
        await pilot.press("s")
        await settle(app, pilot)
        assert fake.started[0].pace == 1.0 and fake.started[0].view == p.VIEW_ENV
        await pilot.press("w", "plus")
        await settle(app, pilot)
        assert p.SetView(p.VIEW_OFF) in fake.sent
        assert fake.sent[-1] == p.SetPace(2.0)
        assert "│ 2/s │" in screen_text(app).splitlines()[0]
        assert "board off" in screen_text(app)
        await pilot.press("w")
        await settle(app, pilot)
        assert fake.sent[-1] == p.SetView(p.VIEW_SPECTATOR) and "spectator" in screen_text(app)
        for _ in range(10):
            await pilot.press("plus")
        assert app.pace == p.INSTANT and app.check_action("faster", ()) is None
        assert "instant" in screen_text(app).splitlines()[0]
        for _ in range(10):
            await pilot.press("minus")
        assert app.pace == 1.0 and app.check_action("slower", ()) is None
        # Nothing that changes training's speed was ever sent.
        assert not any(isinstance(c, p.SetSpeed) for c in fake.sent)


async def test_board_frames_are_coalesced_and_drain_is_bounded(tmp_path, monkeypatch):
    app, fake = make(tmp_path)
    drawn: list[p.Board] = []
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        board = app.query_one(BoardView)
        original = board.show_frame
        monkeypatch.setattr(board, "show_frame", lambda f: (drawn.append(f), original(f)))
        sizes: list[int] = []
        real_drain = fake.drain
        monkeypatch.setattr(
            fake, "drain", lambda max_items=500: sizes.append(max_items) or real_drain(max_items)
        )
        await pilot.press("s")
        await settle(app, pilot)
        frames = [p.Board(bytes(200), lines=i) for i in range(50)]
        fake.push(*frames, *fixed_episodes(5))
        monkeypatch.setattr(app_module, "DRAIN_MAX", 10_000)
        await settle(app, pilot)
        assert [f.lines for f in drawn] == [49]  # only the last frame of the batch
        await pilot.pause(1.0 / PANEL_HZ)  # games reach the log at the panel rate
        await settle(app, pilot)
        assert app.query_one(EpisodeLog).games == 5
        assert sizes and max(sizes) <= 10_000


async def test_error_event_opens_the_error_screen_and_s_starts_again(tmp_path):
    app, fake = make(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("s")
        await settle(app, pilot)
        trace = (
            "Traceback (most recent call last):\n"
            + "".join(f'  File "x.py", line {i}, in f\n' for i in range(60))
            + "RuntimeError: out of cheese"
        )
        fake.crash("RuntimeError: out of cheese", trace)
        await settle(app, pilot)
        assert isinstance(app.screen, ErrorScreen)
        assert app.state == p.CRASHED
        text = screen_text(app)
        assert "out of cheese" in text and "training worker failed" in text
        await pilot.press("end")  # the traceback scrolls
        await pilot.pause()
        assert "RuntimeError: out of cheese" in screen_text(app)
        await pilot.press("s")
        await settle(app, pilot)
        assert not isinstance(app.screen, ErrorScreen)
        assert app.state == p.RUNNING and len(fake.started) == 2
        assert app.check_action("show_error", ())
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ErrorScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ErrorScreen)


async def test_start_failure_is_reported_and_app_stays_usable(tmp_path):
    app, fake = make(tmp_path)
    fake.fail_start = RuntimeError("another tetris-tui is training in run")
    notes: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        original = app.notify
        app.notify = lambda message, **kw: (notes.append(message), original(message, **kw))
        await settle(app, pilot)
        await pilot.press("s")
        await settle(app, pilot)
        assert app.state == "idle"
        assert any("another tetris-tui" in note for note in notes)
        fake.fail_start = None
        await pilot.press("s")
        await settle(app, pilot)
        assert app.state == p.RUNNING


async def test_quit_while_running_stops_first(tmp_path):
    app, fake = make(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("s")
        await settle(app, pilot)
        await pilot.press("q", "x")  # stop training, then quit
        await settle(app, pilot)
    assert fake.stop_calls == 1 and not fake.alive
    assert app.return_code == 0


async def test_crashed_status_without_error_keeps_app_usable(tmp_path):
    app, fake = make(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("s")
        await settle(app, pilot)
        fake._alive = False
        fake.push(p.Status(p.CRASHED, 0, "worker died without a word (killed by SIGKILL)"))
        await settle(app, pilot)
        assert app.state == p.CRASHED
        assert "CRASHED" in screen_text(app).splitlines()[0]
        assert app.check_action("start", ())


async def test_reopening_a_run_shows_its_history_and_autostart(tmp_path):
    run = tmp_path / "run"
    log = RunLog(run)
    for game in fixed_episodes(40):
        log.append(game)
    log.append(p.Checkpoint(p.LATEST, str(run / "latest/model.zip"), 16_000))
    log.close()
    (run / p.LATEST).mkdir()  # the checkpoint itself: a start resumes from its timesteps
    (run / p.LATEST / "meta.json").write_text('{"timesteps": 16000}')
    app, fake = make(tmp_path, autostart=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        episodes = app.query_one(EpisodeLog)
        assert episodes.games == 40 and episodes.best_lines == 19
        assert len(app.query_one(LearningPanel).series["pieces"].data()) == 40
        assert app.main.curve.games.count == 40  # the whole-run curve, read in its own thread
        assert app.timesteps >= 16_000
        assert "saved latest" in str(app.query_one(LearningPanel).border_subtitle)
        assert len(fake.started) == 1  # autostart after the history was shown


async def test_resize_down_to_tiny_and_back(tmp_path):
    app, fake = make(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("s")
        await settle(app, pilot)
        fake.push(*fixed_events())
        for size in [(300, 80), (160, 50), (60, 20), (30, 10), (45, 12), (80, 24)]:
            await pilot.resize_terminal(*size)
            fake.push(fixed_board())
            await settle(app, pilot, 0.06)
            text = screen_text(app)
            if size[0] < 40 or size[1] < 12:
                assert "terminal too small" in text
            else:
                assert "terminal too small" not in text and "board" in text
        assert app.query_one(BoardView).scale == 1
        await pilot.resize_terminal(160, 50)
        await pilot.pause()
        assert app.query_one(BoardView).scale == 1
        await pilot.resize_terminal(*BIG_BOARD_SIZE)
        await pilot.pause()
        assert app.query_one(BoardView).scale == 2
        assert "board" in screen_text(app)


async def test_help_screen_and_palette_commands(tmp_path):
    app, fake = make(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Start" in titles and "Stop" not in titles
        await pilot.press("s")
        await settle(app, pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Stop" in titles and "Pause / resume" in titles


async def test_keep_slot_and_follow(tmp_path):
    app, fake = make(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("s")
        await settle(app, pilot)
        fake.push(*fixed_events())
        await settle(app, pilot)
        await pilot.press("k")
        assert fake.sent[-1] == p.SaveSlot(f"step-{app.timesteps}")
        log = app.query_one(EpisodeLog)
        log.scroll_home(animate=False)
        await pilot.pause()
        assert not log.following
        await pilot.press("f")
        await pilot.pause()
        assert log.following


async def test_status_bar_shows_metrics(tmp_path):
    app, fake = make(tmp_path)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(app, pilot)
        await pilot.press("s")
        await settle(app, pilot)
        fake.push(*fixed_events())
        await settle(app, pilot)
        info = app.query_one(StatusBar).info
        assert info.timesteps == 12_288 and info.steps_per_sec == 880.0
        line = screen_text(app).splitlines()[0]
        assert "12,288 steps" in line and "880 steps/s" in line and "1:15" in line


async def test_no_color_still_reads_by_glyph(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app, fake = make(tmp_path)
    assert app.no_color
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("s")
        await settle(app, pilot)
        fake.push(fixed_board())
        await settle(app, pilot)
        text = screen_text(app)
        for glyph in ("██", "▓▓", "▒▒", "░░", "▚▚", "▞▞", "▐▌"):
            assert glyph in text
        assert "RUNNING" in text.splitlines()[0]


async def test_play_mode_starts_the_play_worker_at_a_watchable_speed(tmp_path):
    fake = FakeSession()
    model = tmp_path / "run" / "best"
    config = Config(run_dir=tmp_path / "run", step_delay=0.15)
    app = TetrisApp(config, session_factory=lambda: fake, play_model=model)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert fake.played == [model] and fake.started[0].step_delay == 0.15
        assert app.state == p.RUNNING
        line = screen_text(app).splitlines()[0]
        assert "play run/best" in line and "150ms" in line
        assert app.check_action("keep_slot", ()) is None  # nothing trains, nothing to keep


async def test_models_key_opens_the_models_screen(tmp_path):
    from tetris_tui.ui.screens.models import ModelsScreen

    app, fake = make(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, ModelsScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ModelsScreen)


async def test_a_viewer_whose_trainer_ended_starts_a_trainer_and_plays(tmp_path):
    """An attached viewer starts nothing itself: `s` swaps in a new spawned session."""
    from ui_helpers import FakeAttachedSession

    from tetris_tui.ui.screens.models import ModelsRequest

    viewer = FakeAttachedSession()
    spawned: list[FakeSession] = []

    def spawn() -> FakeSession:
        spawned.append(FakeSession())
        return spawned[-1]

    app = TetrisApp(
        Config(run_dir=tmp_path / "run"), session_factory=lambda: viewer, spawn_session=spawn
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert app.check_action("start", ()) is None  # its trainer runs
        viewer.send(p.Stop())  # the trainer saves and ends
        await settle(app, pilot)
        assert app.state == p.STOPPED and not viewer.alive
        await pilot.press("s")
        await settle(app, pilot)
        assert len(spawned) == 1 and app.session is spawned[0]
        assert len(spawned[0].started) == 1 and app.state == p.RUNNING
        await pilot.press("x")
        await settle(app, pilot)
        assert app.state == p.STOPPED
        # Play from the models screen, as in any app.
        model = tmp_path / "run" / "best"
        app._models_closed(ModelsRequest("play", path=model))
        await settle(app, pilot)
        assert spawned[0].played == [model] and app.state == p.RUNNING
