"""Replaying best.json: `tetris-tui replay`, its failures, and the app's `r` key."""

from __future__ import annotations

import pytest
from spectator_helpers import heuristic
from ui_helpers import FakeSession, screen_text

from tetris_tui import protocol as p
from tetris_tui.cli import main
from tetris_tui.config import Config, EnvConfig
from tetris_tui.ui.app import TetrisApp
from tetris_tui.ui.replay_app import ReplayApp
from tetris_tui.worker.best_replay import BestReplay
from tetris_tui.worker.greedy_game import record_game


@pytest.fixture(scope="module")
def game():
    return record_game(heuristic, EnvConfig(), seed=11, max_pieces=120)


@pytest.mark.parametrize("content", [None, "{broken", '{"version": 1, "lines": 3}'])
def test_a_missing_or_damaged_replay_is_one_line_and_exit_2(tmp_path, capsys, content):
    path = tmp_path / "run" / "replays" / "best.json"
    if content is not None:
        path.parent.mkdir(parents=True)
        path.write_text(content)
    with pytest.raises(SystemExit) as info:
        main(["replay", "--checkpoints", str(tmp_path / "run")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err, err


async def wait_until(pilot, check, seconds: float = 20.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await pilot.pause(0.05)
    raise AssertionError("timed out")


async def test_the_replay_app_ends_on_the_recorded_board(tmp_path, game):
    BestReplay(tmp_path).offer(game)
    app = ReplayApp(game, tmp_path / "replays" / "best.json", pace=60.0)
    async with app.run_test(size=(80, 26)) as pilot:
        await wait_until(pilot, lambda: app.feed.replay is None and not app.feed.busy)
        assert app.board.frame.cells == game.final_board
        assert app.board.frame.lines == game.lines and app.board.frame.pieces == game.pieces
        assert "done" in screen_text(app) and f"{game.lines:,} lines" in screen_text(app)
        await pilot.press("minus")
        assert app.feed.pace == 20.0
        await pilot.press("q")


async def test_r_replays_the_best_game_on_the_apps_board(tmp_path, game):
    run_dir = tmp_path / "run"
    BestReplay(run_dir).offer(game)
    fake = FakeSession()
    app = TetrisApp(Config(run_dir=run_dir, pace=p.INSTANT), session_factory=lambda: fake)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.3)
        await pilot.press("w")  # env 0: r switches back to the spectator's board
        await pilot.press("r")
        assert app.view == p.VIEW_SPECTATOR
        await wait_until(pilot, lambda: app.main.feed.replay is None)
        await pilot.pause(0.2)
        assert app.main.board_view.frame.cells == game.final_board
        assert "replay · best game" in screen_text(app)
        await pilot.press("r")  # back to live
        await pilot.pause(0.1)
        assert not app.main.feed.replay_mode and "replay" not in screen_text(app)


async def test_r_without_a_replay_says_so_in_one_line(tmp_path):
    notes = []
    app = TetrisApp(Config(run_dir=tmp_path / "run"), session_factory=FakeSession)
    async with app.run_test(size=(100, 30)) as pilot:
        original = app.notify
        app.notify = lambda message, **kw: (notes.append(message), original(message, **kw))
        await pilot.press("r")
        await pilot.pause(0.1)
    assert notes and "no such replay" in notes[-1] and "\n" not in notes[-1]
