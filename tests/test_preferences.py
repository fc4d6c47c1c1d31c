"""Preferences survive a restart: theme, curve options, board view, pace; keys remap by id."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ui_helpers import FakeSession, screen_text

from tetris_tui import protocol as p
from tetris_tui.config import Config
from tetris_tui.ui.app import TetrisApp
from tetris_tui.ui.preferences import Preferences, config_dir, preferences_path
from tetris_tui.ui.screens.help import HelpScreen
from tetris_tui.ui.widgets.chart import View


def app_for(tmp_path: Path, **changes: object) -> TetrisApp:
    return TetrisApp(Config(run_dir=tmp_path / "run", **changes), session_factory=FakeSession)


async def test_theme_and_curve_options_survive_a_restart(tmp_path, _private_config_home):
    path = _private_config_home / "tetris-tui" / "preferences.json"
    assert preferences_path() == path
    app = app_for(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        assert app.theme != "nord" and app.main.curve.view == View()
        app.theme = "nord"  # what Textual's theme picker does
        await pilot.pause()
        assert json.loads(path.read_text())["theme"] == "nord"  # saved on the change
        await pilot.press("t", "l", "a")  # wall time, log y, smoothing 100 -> 1000
        await pilot.press("w", "minus")  # the board: env 0; pace 5 -> 2
        assert app.view == p.VIEW_ENV and app.pace == 2.0
    saved = json.loads(path.read_text())
    assert saved["curve"] == {"axis": "time", "log_y": True, "smoothing": 1000}
    assert saved["view"] == p.VIEW_ENV and saved["pace"] == 2.0

    again = app_for(tmp_path)
    async with again.run_test(size=(100, 30)) as pilot:
        await again.workers.wait_for_complete()
        await pilot.pause()
        assert again.theme == "nord"
        assert again.main.curve.view == View("time", True, 1000)
        assert "t time · l log · a ema 1000" in str(again.main.curve.border_subtitle)
        assert again.view == p.VIEW_ENV and again.pace == 2.0
        assert again.run_config().view == p.VIEW_ENV  # what a start sends the trainer

    # An option given on the command line wins over the saved one.
    assert app_for(tmp_path, pace=20.0).pace == 20.0


async def test_a_keymap_remaps_a_key_by_its_binding_id(tmp_path, _private_config_home):
    path = _private_config_home / "tetris-tui" / "preferences.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"keymap": {"help": "h", "curve_axis": "X"}}))
    app = app_for(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("question_mark")  # the old key does nothing now
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("h")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        shown = screen_text(app)  # the help names the keys as remapped
        assert re.search(r"\bX l\s+curve: x steps", shown), shown
        assert re.search(r"\bh\s+this help", shown), shown
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("X")
        assert app.main.curve.view.axis == "time"
    assert json.loads(path.read_text())["keymap"] == {"help": "h", "curve_axis": "X"}


async def test_a_bad_file_is_one_warning_and_the_app_runs(tmp_path, _private_config_home):
    path = _private_config_home / "tetris-tui" / "preferences.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"theme": "no-such-theme", "pace": -3, "curve": {"smoothing": 7}, "x": 1}')
    app = app_for(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        notes = [n.message for n in app._notifications]
        assert any("pace = -3 is not valid" in n for n in notes)
        assert any("curve.smoothing = 7" in n for n in notes)
        assert any("no theme named 'no-such-theme'" in n for n in notes)
        assert app.pace == p.DEFAULT_PACE and app.main.curve.view == View()
    assert json.loads(path.read_text())["x"] == 1  # keys it does not know are kept

    path.write_text("{not json")
    prefs = Preferences.load()
    assert len(prefs.problems) == 1 and "preferences not read" in prefs.problems[0]


def test_the_config_dir_follows_xdg_else_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_dir() == tmp_path / "xdg" / "tetris-tui"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert config_dir() == tmp_path / "home" / ".config" / "tetris-tui"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/dir")  # not absolute: ignored, as XDG says
    assert config_dir() == tmp_path / "home" / ".config" / "tetris-tui"


def test_the_help_lists_every_key_the_app_binds():
    """A key the help leaves out is a key nobody finds (``c`` once was)."""
    from tetris_tui.ui.app import TetrisApp
    from tetris_tui.ui.screens.help import KEYS
    from tetris_tui.ui.screens.main import MainScreen

    listed = {binding_id for _, _, ids in KEYS for binding_id in ids}
    bound = {b.id for b in [*TetrisApp.BINDINGS, *MainScreen.BINDINGS] if b.id}
    assert bound - {"read_only"} <= listed, bound - listed  # read_only: a label, not a key
    assert listed <= bound, listed - bound
