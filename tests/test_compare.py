"""``tetris-tui compare``: three real runs on one chart, or two curves with seeds grouped."""

from __future__ import annotations

import subprocess
import sys

import pytest
from compare_helpers import three_runs
from textual.widgets import SelectionList

from tetris_tui.compare.overlay import PALETTE, _interpolate, run_points
from tetris_tui.compare.runs import load_runs
from tetris_tui.ui.compare_app import CompareApp
from tetris_tui.ui.screens.compare import AddRunsScreen, CompareScreen
from tetris_tui.ui.widgets.chart import STEPS

pytestmark = pytest.mark.slow

BRAILLE = range(0x2801, 0x2900)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return three_runs(tmp_path_factory)


def drawn(screen: CompareScreen) -> dict[str, set[str]]:
    """Colours on the chart: of the curves' lines (bold) and of the bands (dim)."""
    chart = screen.chart
    seen: dict[str, set[str]] = {"line": set(), "band": set()}
    for y in range(chart.size.height):
        for segment in chart.render_line(y):
            style = segment.style
            if style is None or style.color is None:
                continue
            if not any(ord(ch) in BRAILLE for ch in segment.text):
                continue
            name = style.color.name.lower()
            if name in PALETTE:
                seen["band" if style.dim else "line"].add(name)
    return seen


async def test_three_runs_draw_three_curves_and_two_when_seeds_are_grouped(runs):
    app = CompareApp(load_runs(list(runs.values())))
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.compare
        await pilot.pause()
        assert [s.name for s in screen.series] == ["a-seed1", "a-seed2", "b-seed1"]
        assert all(len(s.xs) > 10 for s in screen.series)
        assert drawn(screen) == {"line": set(PALETTE[:3]), "band": set()}
        legend = str(screen.legend.render())
        assert all(name in legend for name in runs)

        await pilot.press("g")
        await pilot.pause()
        assert [s.runs for s in screen.series] == [2, 1]  # the two seeds of "a", then "b"
        assert screen.series[0].name.startswith("a-seed1") and "2 seeds" in screen.series[0].name
        assert drawn(screen) == {"line": set(PALETTE[:2]), "band": {PALETTE[0]}}
        group = screen.series[0]
        assert group.low is not None and group.high is not None
        middle = len(group.xs) // 2
        x = group.xs[middle]
        seeds = [_interpolate(*run_points(run, STEPS), x) for run in screen.runs[:2]]
        assert group.ys[middle] == pytest.approx(sum(seeds) / 2)
        assert (group.low[middle], group.high[middle]) == pytest.approx((min(seeds), max(seeds)))

        await pilot.press("t")
        await pilot.pause()
        assert screen.axis == "time"
        axis_row = "".join(s.text for s in screen.chart.render_line(screen.chart.size.height - 1))
        assert "wall time" in axis_row


async def test_a_adds_runs_found_beside_the_shown_one(runs):
    app = CompareApp(load_runs([runs["b-seed1"]]))
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.compare
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, AddRunsScreen)
        offered = {path.name for path in app.screen.runs}
        assert offered == {"a-seed1", "a-seed2"}
        app.screen.query_one(SelectionList).select_all()
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen is screen
        assert sorted(s.name for s in screen.series) == ["a-seed1", "a-seed2", "b-seed1"]
        await pilot.press("g")
        await pilot.pause()
        assert len(screen.series) == 2


async def test_the_apps_c_key_opens_the_run_in_compare(runs, tmp_path):
    from ui_helpers import FakeSession

    from tetris_tui.config import Config
    from tetris_tui.ui.app import TetrisApp

    app = TetrisApp(Config(run_dir=runs["a-seed1"]), session_factory=FakeSession)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, CompareScreen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert [s.name for s in app.screen.series] == ["a-seed1"]
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.main


def test_a_directory_that_is_not_a_run_is_one_line(runs, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "tetris_tui", "compare", str(runs["a-seed1"]), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == f"tetris-tui: error: {tmp_path} is not a run (no events.jsonl)\n"
