"""The models screen through Pilot, on a run directory a real worker wrote."""

from __future__ import annotations

import pytest
from conftest import collect_until, small_config
from textual.app import App
from textual.widgets import DataTable

from tetris_tui.protocol import FINISHED, Status
from tetris_tui.runs.checkpoints import list_checkpoints
from tetris_tui.session.spawned import TrainingSession
from tetris_tui.ui.screens.models import ModelsRequest, ModelsScreen


class Host(App[None]):
    def __init__(self, run_dir, training=False):
        super().__init__()
        self.run_dir, self.training, self.result = run_dir, training, "unset"

    def on_mount(self) -> None:
        self.push_screen(ModelsScreen(self.run_dir, self.training), self._models_closed)

    def _models_closed(self, result):
        self.result = result


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("models") / "run"
    session = TrainingSession()
    session.start(small_config(run_dir, total_timesteps=256))
    collect_until(
        session, lambda ev: any(isinstance(e, Status) and e.state == FINISHED for e in ev)
    )
    session.stop()
    return run_dir


def _names(app):
    table = app.screen.query_one(DataTable)
    return [table.get_row_at(i)[0] for i in range(table.row_count)]


async def test_keep_rename_delete_and_refuse_bad_names(trained):
    app = Host(trained)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert _names(app)[:2] == ["latest", "best"] or "latest" in _names(app)
        await pilot.press("k")
        await pilot.press(*"bad/name", "enter")
        assert "bad slot name" in str(app.screen.query_one("#message").render())
        await pilot.press("escape")
        await pilot.press("k", *"mine", "enter")
        await pilot.pause()
        assert "mine" in _names(app)
        # the same name again asks before overwriting; "n" keeps the old one
        await pilot.press("k", *"mine", "enter")
        await pilot.pause()
        assert "overwrite" in str(app.screen.query_one("Label").render())
        await pilot.press("n")
        table = app.screen.query_one(DataTable)
        table.move_cursor(row=_names(app).index("mine"))
        await pilot.press("r", *"yours", "enter")
        await pilot.pause()
        assert "yours" in _names(app) and "mine" not in _names(app)
        table.move_cursor(row=_names(app).index("yours"))
        await pilot.press("d")
        await pilot.press("y")
        await pilot.pause()
        assert "yours" not in _names(app)
        assert "yours" not in [r.name for r in list_checkpoints(trained)]


async def test_play_returns_the_selected_model(trained):
    app = Host(trained)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("o")  # sort by timesteps
        await pilot.press("enter")
        await pilot.pause()
    assert isinstance(app.result, ModelsRequest) and app.result.action == "play"
    assert (app.result.path / "model.zip").is_file()


async def test_keep_current_while_training_asks_the_worker(trained):
    app = Host(trained, training=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("k", *"live", "enter")
        await pilot.pause()
    assert app.result == ModelsRequest("save_current", name="live")
