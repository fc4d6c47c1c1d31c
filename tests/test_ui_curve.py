"""The whole-run learning curve in the app: keys, live games, reopening a long run."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ui_helpers import (
    FakeSession,
    WidgetHost,
    fixed_episodes,
    fixed_events,
    real_config,
    screen_text,
)

from tetris_tui import protocol as p
from tetris_tui.config import Config
from tetris_tui.curves import sidecar
from tetris_tui.curves.reader import read_curve
from tetris_tui.runs.runlog import RunLog
from tetris_tui.ui.app import TetrisApp
from tetris_tui.ui.widgets.curve import CurvePanel


def chart_lines(app: TetrisApp) -> list[str]:
    """The chart's rows on screen (inside its border), for 100-column screens."""
    region = app.main.curve.region
    rows = screen_text(app).splitlines()[region.y : region.bottom]
    return [row[region.x : region.right] for row in rows]


async def until(pilot, check, timeout: float, what: str) -> float:
    start = time.perf_counter()
    while not check():
        if time.perf_counter() - start > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await pilot.pause(0.02)
    return time.perf_counter() - start


async def test_keys_switch_the_axis_log_y_and_smoothing_and_send_nothing(tmp_path):
    fake = FakeSession()
    app = TetrisApp(Config(run_dir=tmp_path / "run"), session_factory=lambda: fake)
    async with app.run_test(size=(100, 36)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("s")
        await app.workers.wait_for_complete()
        fake.push(*fixed_events())
        curve = app.main.curve
        await until(pilot, lambda: curve.games.count == 30, 5, "the games on the chart")
        await until(pilot, lambda: "30 games" in chart_lines(app)[0], 10, "a repaint")
        sent = list(fake.sent)
        steps = chart_lines(app)
        assert "12k steps" in steps[-2] and "t steps · l lin · a ema 100" in steps[-1]
        assert "30 games" in steps[0] and "avg100 8.6" in steps[0]

        await pilot.press("t")
        await pilot.pause(0.1)
        wall = chart_lines(app)
        assert "wall time" in wall[-2] and "t time" in wall[-1]
        await pilot.press("l")
        await pilot.pause(0.1)
        log = chart_lines(app)
        assert "l log" in log[-1] and log[1:-2] != wall[1:-2]  # the curve is redrawn
        await pilot.press("a")
        await pilot.pause(0.1)
        assert "a ema 1000" in chart_lines(app)[-1]
        await pilot.press("a")
        await pilot.pause(0.1)
        assert "a ema off" in chart_lines(app)[-1]
        await pilot.press("t", "l", "a", "a")
        await pilot.pause(0.1)
        assert chart_lines(app) == steps  # back where it started, drawn the same
        assert fake.sent == sent  # the chart's keys never reach the worker


async def test_games_that_came_while_the_history_loaded_count_once(tmp_path):
    games = fixed_episodes(40)
    log = RunLog(tmp_path)
    log.append_many(games)
    log.close()
    panel = CurvePanel()
    async with WidgetHost(panel).run_test(size=(80, 12)) as pilot:
        panel.loading = True
        # Games 39 and 40 were written before the read reached the end; 41 was not.
        later = p.Episode(41, 3, 1.0, 5, 5, timesteps=16_400, time=games[-1].time + 1)
        panel.add_episodes([games[38], games[39], later])
        panel.add_evaluation(p.Evaluation(timesteps=16_000, games=2, lines_mean=4, lines_max=5))
        assert panel.games.count == 0  # held until the history is in
        panel.set_curve(read_curve(tmp_path))
        await pilot.pause()
        assert panel.games.count == 41 and panel.games.last.steps1 == 16_400
        assert [b.mean for b in panel.evals] == [4]
        assert "41 games" in str(panel.border_title)


async def test_the_title_fits_the_width_it_is_drawn_at_even_if_the_data_came_first(tmp_path):
    """A reopened run can be read before the screen's first layout (width 0 then):
    the title it got then must give way to the one that fits once drawn."""
    log = RunLog(tmp_path)
    log.append_many(fixed_episodes(40))
    log.close()
    panel = CurvePanel()

    class EarlyHost(WidgetHost):
        def on_mount(self) -> None:
            assert panel.outer_size.width == 0  # not laid out yet
            panel.set_curve(read_curve(tmp_path))

    async with EarlyHost(panel).run_test(size=(120, 12)) as pilot:
        await pilot.pause()
        await pilot.pause()
        assert "40 games" in str(panel.border_title) and "best" in str(panel.border_title)
        await pilot.resize_terminal(40, 12)
        await pilot.pause()
        assert "best" not in str(panel.border_title)  # the short form in 40 columns
        await pilot.resize_terminal(120, 12)
        await pilot.pause()
        assert "best" in str(panel.border_title)


async def test_the_layers_stay_apart_in_256_colours_and_without_colour():
    from rich.color import ColorSystem

    panel = CurvePanel()
    async with WidgetHost(panel).run_test(size=(60, 12)) as pilot:
        panel.add_episodes(fixed_episodes(30))
        panel.flush(force=True)
        await pilot.pause()
        styles = panel.layer_styles()
        eight_bit = {
            name: styles[name].color.downgrade(ColorSystem.EIGHT_BIT)
            for name in ("points", "line", "eval", "running")
        }
        assert len(set(eight_bit.values())) == 4, eight_bit
        # NO_COLOR drops colours and keeps attributes: the lines are bold, the points not.
        assert styles["line"].bold and styles["eval"].bold and not styles["points"].bold
        assert styles["running"].bold
        drawn = {seg.style for strip in panel._strips for seg in strip if seg.text.strip()}
        assert styles["points"] in drawn and styles["line"] in drawn


def running_tick(steps: int, lines: float, games: int = 4) -> p.Metrics:
    return p.Metrics(
        timesteps=steps,
        steps_per_sec=900.0,
        episodes=30,
        elapsed_s=80.0,
        running_lines=lines,
        running_games=games,
    )


async def test_the_running_games_are_a_line_of_their_own_named_in_the_title():
    """Finished games alone lag a strong agent: the running ones are drawn, and said so."""
    panel = CurvePanel()
    async with WidgetHost(panel).run_test(size=(120, 12)) as pilot:
        panel.add_episodes(fixed_episodes(30))
        panel.flush(force=True)
        await pilot.pause()
        title = str(panel.border_title)
        assert "avg100 8.6" in title and "running" not in title
        alone = [strip.text for strip in panel._strips]
        for step, lines in ((12_400, 20.0), (12_600, 35.0), (12_800, 52.5)):
            panel.add_running(running_tick(step, lines))
        panel.flush(force=True)
        await pilot.pause()
        title = str(panel.border_title)
        assert "finished avg100 8.6" in title and "running 52.5 so far (4 games)" in title
        assert panel.running_now == 52.5 and panel.finished_mean < 0.2 * panel.running_now
        running = panel.layer_styles()["running"]
        drawn = {seg.style for strip in panel._strips for seg in strip if seg.text.strip()}
        assert running in drawn
        assert [strip.text for strip in panel._strips] != alone
        assert panel._strips[0].text.lstrip().startswith("60┤")  # the scale takes it in
        # A metrics tick without the figure (an older worker, play mode) changes nothing.
        panel.add_running(p.Metrics(timesteps=13_000, steps_per_sec=1.0, episodes=1, elapsed_s=1))
        assert panel.running.count == 3


async def test_routine_saves_of_latest_go_to_the_status_line_not_a_toast(tmp_path):
    fake = FakeSession()
    app = TetrisApp(Config(run_dir=tmp_path / "run"), session_factory=lambda: fake)
    async with app.run_test(size=(140, 36)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("s")
        await app.workers.wait_for_complete()
        app.clear_notifications()
        before = time.time()
        fake.push(p.Checkpoint(p.LATEST, "run/latest/model.zip", 200_000))
        await until(pilot, lambda: app.run_state.latest_saved_at is not None, 5, "the save")
        assert before - 1 <= app.run_state.latest_saved_at <= time.time() + 1
        clock = time.strftime("%H:%M:%S", time.localtime(app.run_state.latest_saved_at))
        await pilot.pause(0.1)
        assert f"saved {clock}" in screen_text(app).splitlines()[0]
        assert not app._notifications  # no toast over the game log
        fake.push(p.Checkpoint("keep", "run/slots/keep/model.zip", 210_000))
        await until(pilot, lambda: bool(app._notifications), 5, "a toast for a slot")
        assert "saved keep" in next(iter(app._notifications)).message


REOPEN = """
import asyncio, json, sys, time
sys.path.insert(0, {tests!r})
from pathlib import Path
from ui_helpers import FakeSession
from test_ui_curve import chart_lines, status_bytes
from tetris_tui.config import Config
from tetris_tui.ui.app import TetrisApp

async def main():
    rss_before = status_bytes("VmRSS")
    start = time.perf_counter()
    app = TetrisApp(Config(run_dir=Path({run!r})), session_factory=FakeSession)
    # Wide enough that the title has room for the full game count.
    async with app.run_test(size=(160, 40)) as pilot:
        curve = app.main.curve
        # Cheap to poll: the title is set when the chart repaints.
        while curve.loading or {shown!r} not in str(curve.border_title):
            if time.perf_counter() - start > 30:
                break
            await pilot.pause(0.02)
        await pilot.pause()  # the repaint the title came with
        elapsed = time.perf_counter() - start
        first = curve.games.buckets[0]
        print(json.dumps({{
            "elapsed": elapsed, "games": curve.games.count, "buckets": len(curve.games),
            "capacity": curve.games.capacity, "first": [first.steps0, first.time0],
            "lines": chart_lines(app), "peak_growth": status_bytes("VmHWM") - rss_before,
        }}))

asyncio.run(main())
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads memory from /proc")
def test_a_reopened_run_of_a_million_games_draws_from_its_first_game(tmp_path):
    """The issue's acceptance: 1,000,000+ recorded games, whole curve, flat memory.

    The time it takes (< 2 s asked, ~1 s measured) is `bench/curve.py --reopen`'s
    figure; here only a loose bound, so that a busy machine cannot fail it.

    In a fresh interpreter, as a user reopens a run: this one has run the whole
    suite (and torch) already, and its garbage collector walks all of that.
    """
    run = tmp_path / "run"
    games = 1_000_000
    write_games(run / "events.jsonl", games)
    size = (run / "events.jsonl").stat().st_size
    script = tmp_path / "reopen.py"
    tests = str(Path(__file__).parent)
    shown = f"{games:,} games"
    script.write_text(REOPEN.format(tests=tests, run=str(run), shown=shown))
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    lines = found["lines"]
    assert found["games"] == games and found["buckets"] <= found["capacity"]
    assert found["first"] == [40, T0 + 0.05]  # from the first game on
    assert shown in lines[0]
    assert "└40──" in lines[-2] and "40M steps" in lines[-2]
    assert found["elapsed"] < 15.0, f"{found['elapsed']:.2f}s to draw {games:,} games"
    # The file is ~177 MB; reading it costs one 2 MB chunk at a time, not the file.
    assert size > 150e6 and found["peak_growth"] < 64e6, (size, found["peak_growth"])
    assert sidecar.valid_index(run) is not None  # read from the index RunLog keeps


def test_a_run_recorded_before_the_index_reads_its_json(tmp_path):
    """No index (or one that disagrees): the same curve, from events.jsonl."""
    run = tmp_path / "run"
    write_games(run / "events.jsonl", 30_000)
    indexed = read_curve(run)
    (run / sidecar.CURVE_FILE).unlink()
    from_json = read_curve(run)
    assert from_json.games.count == 30_000 and from_json.games.buckets == indexed.games.buckets


T0 = 1_700_000_000.0


def write_games(path: Path, count: int) -> None:
    """``count`` games exactly as RunLog writes them (checked below), written fast:
    the JSON lines in events.jsonl and their records in the curve's index."""
    RunLog(path.parent).close()  # a new run: an empty events.jsonl and index
    template = (
        '{"episode":%d,"lines":%d,"reward":%.1f,"pieces":%d,"length":%d,"timesteps":%d,'
        '"time":%r,"duration_s":0.05,"env_index":%d,"capped":false,"kind":"episode"}\n'
    )
    sample = p.Episode(7, 7, 7.5, 27, 27, 280, T0 + 0.35, 0.05, 3, False)
    log_line = RunLog.__new__(RunLog)
    written: list[str] = []
    log_line._write = written.append  # type: ignore[method-assign]
    log_line.append(sample)
    assert template % (7, 7, 7.5, 27, 27, 280, T0 + 0.35, 3) == written[0]
    record = sidecar.RECORD.pack
    assert sidecar.pack([sample]) == record(7, 280, T0 + 0.35)
    index = open(path.parent / sidecar.CURVE_FILE, "ab")  # noqa: SIM115
    with open(path, "w", encoding="utf-8") as handle, index:
        for block in range(0, count, 50_000):
            numbers = range(block + 1, min(count, block + 50_000) + 1)
            index.write(b"".join(record(i % 37, 40 * i, T0 + i * 0.05) for i in numbers))
            handle.write(
                "".join(
                    template % (i, i % 37, i % 37 + 0.5, 20 + i % 37, 20 + i % 37, 40 * i,
                                T0 + i * 0.05, i % 4)
                    for i in range(block + 1, min(count, block + 50_000) + 1)
                )
            )  # fmt: skip
            if block == 500_000:
                handle.write('{"which":"latest","path":"x","timesteps":1,"kind":"checkpoint"}\n')


def status_bytes(field: str) -> int:
    """A size from /proc/self/status (VmRSS, VmHWM: the peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/self/status")


@pytest.mark.slow
async def test_the_chart_shows_games_as_the_real_worker_plays_them(tmp_path):
    run_dir = tmp_path / "run"
    app = TetrisApp(real_config(run_dir, eval_every=1024, eval_games=1))
    async with app.run_test(size=(100, 36)) as pilot:
        curve = app.main.curve
        await until(pilot, lambda: not curve.loading, 10, "the (empty) history")
        await pilot.press("s")
        await until(pilot, lambda: curve.games.count >= 3, 90, "games on the chart")
        first = curve.games.count
        await until(pilot, lambda: curve.games.count > first + 3, 60, "more games")
        await until(pilot, lambda: curve.evals.count >= 1, 90, "an evaluation")
        # Hold training so that no game arrives between a repaint and the check;
        # the chart repaints at most twice a second, later on a loaded machine.
        await pilot.press("p")
        await until(pilot, lambda: app.state == p.PAUSED, 20, "the pause")
        await until(
            pilot,
            lambda: f"{curve.games.count:,} games" in chart_lines(app)[0],
            10,
            "the chart's title to show every game",
        )
        lines = chart_lines(app)
        assert lines[-2].rstrip(" │").endswith("steps")
        await pilot.press("t", "l", "a")
        await pilot.pause(0.1)
        assert "t time · l log · a ema 1000" in chart_lines(app)[-1]
        assert "wall time" in chart_lines(app)[-2]
        await pilot.press("q", "x")  # stop training, then quit
        while app.is_running:
            await pilot.pause(0.1)
    # What it showed is what a reopened run reads back, evaluations included.
    reread = read_curve(run_dir)
    assert reread.games.count >= curve.games.count and reread.evals.count >= 1
