"""What one refresh of the learning curve costs: own braille chart vs textual-plotext.

Both draw the same data (1,024 buckets of games, their EMA, 20 evaluations)
into the size the chart gets on a 160x50 terminal, inside a real Textual app,
and the bench times a full repaint of the widget's lines (the data changed:
nothing cached), ``--repeat`` times each, alternating. textual-plotext is
optional: ``pip install textual-plotext`` to include it.

    python bench/curve.py [--size 126x16] [--repeat 50]
    python bench/curve.py --read [--games 1000000]
    python bench/curve.py --reopen [--games 1000000]

Last line: ``braille_ms=… plotext_ms=… ratio=…`` (medians; ratio = plotext ÷ braille).
With ``--read``: a run of ``--games`` games written by RunLog is read back from
its index and from the JSON alone, five times each, alternating:
``index_s=… json_s=…`` (medians of wall time; CPU time beside them).
With ``--reopen``: the app, in a fresh interpreter each time (as a user reopens a
run), five times: from start-up to the whole curve drawn with every game counted
in its title: ``reopen_s=…`` (median; the spread beside it).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from textual.app import App
from textual.geometry import Region

from tetris_tui.curves.buckets import BucketHistory, ema
from tetris_tui.ui.widgets.curve import CurvePanel


def history(games: int = 200_000) -> tuple[BucketHistory, BucketHistory]:
    rng = random.Random(1)
    hist, evals = BucketHistory(), BucketHistory(256)
    for i in range(games):
        mean = 40 * (1 - math.exp(-i / 50_000))
        hist.add(max(0.0, rng.gauss(mean, mean / 2 + 1)), i * 40, 1.7e9 + i * 0.3)
    for i in range(1, 21):
        evals.add(40 * (1 - math.exp(-i / 5)), i * 400_000, 0.0)
    return hist, evals


def plotext_widget(hist: BucketHistory, evals: BucketHistory):  # type: ignore[no-untyped-def]
    from textual_plotext import PlotextPlot

    class Plot(PlotextPlot):
        def redraw(self) -> None:
            plt = self.plt
            plt.clear_data()
            buckets = list(hist)
            xs = [(b.steps0 + b.steps1) / 2 for b in buckets]
            plt.scatter(xs, [b.mean for b in buckets], marker="braille", color=(80, 120, 80))
            plt.plot(xs, ema(buckets, 100), marker="braille", color=(80, 220, 80))
            plt.plot([b.steps1 for b in evals], [b.mean for b in evals], marker="braille")
            self.refresh()

    return Plot()


class Host(App[None]):
    def __init__(self, widget: object) -> None:
        super().__init__()
        self.widget = widget

    def compose(self):  # type: ignore[no-untyped-def]
        yield self.widget


async def time_widget(make, redraw, size: tuple[int, int], repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    widget = make()
    app = Host(widget)
    out = []
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        region = Region(0, 0, *size)
        for _ in range(repeat):
            start = time.perf_counter()
            redraw(widget)
            widget._styles_cache.clear()
            widget.render_lines(region)
            out.append((time.perf_counter() - start) * 1000)
    return out


def write_run(run: Path, games: int) -> None:
    """A run of ``games`` games, written by RunLog as the worker writes them."""
    from tetris_tui import protocol as p
    from tetris_tui.runs.runlog import RunLog

    log = RunLog(run)
    rng = random.Random(1)
    for start in range(1, games + 1, 1000):
        log.append_many(
            p.Episode(i, rng.randrange(40), 1.0, 30, 30, i * 40, 1.7e9 + i * 0.05, 0.05)
            for i in range(start, min(games, start + 999) + 1)
        )
    log.close()
    size = (run / "events.jsonl").stat().st_size
    print(f"{games:,} games: events.jsonl {size / 1e6:.0f} MB")


def read_times(games: int) -> None:
    """Reopen cost of a run of ``games`` games: from the index vs from the JSON."""
    from tetris_tui.curves.reader import read_curve

    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp)
        write_run(run, games)
        times: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        for _ in range(5):
            for use_index in (True, False):
                wall, cpu = time.perf_counter(), time.process_time()
                curve = read_curve(run, use_index=use_index)
                times[use_index].append((time.perf_counter() - wall, time.process_time() - cpu))
                assert curve.games.count == games
    line = []
    for use_index, name in ((True, "index"), (False, "json")):
        walls = sorted(w for w, _ in times[use_index])
        cpus = sorted(c for _, c in times[use_index])
        print(f"{name:6} wall {walls[0]:.2f}–{walls[-1]:.2f} s, cpu {cpus[0]:.2f}–{cpus[-1]:.2f} s")
        line.append(f"{name}_s={statistics.median(walls):.2f}")
    print(" ".join(line))


REOPEN = """
import asyncio, sys, time
start = time.perf_counter()
from pathlib import Path
from tetris_tui.config import Config
from tetris_tui.ui.app import TetrisApp

async def main():
    app = TetrisApp(Config(run_dir=Path(sys.argv[1])))  # no trainer is started
    async with app.run_test(size=(160, 40)) as pilot:
        curve = app.main.curve
        while curve.loading or sys.argv[2] not in str(curve.border_title):
            await pilot.pause(0.01)
        print(time.perf_counter() - start)

asyncio.run(main())
"""


def reopen_times(games: int) -> None:
    """Start-up to the whole curve drawn, in a fresh interpreter each time."""
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        write_run(run, games)
        shown = f"{games:,} games"
        # The app saves its preferences as it quits: into the bench's folder, not the user's.
        env = {**os.environ, "XDG_CONFIG_HOME": str(Path(tmp) / "config")}
        walls = []
        for _ in range(5):
            out = subprocess.run(
                [sys.executable, "-c", REOPEN, str(run), shown],
                capture_output=True, text=True, timeout=120, check=True, env=env,
            )  # fmt: skip
            walls.append(float(out.stdout.split()[-1]))
    walls.sort()
    print(f"reopen {walls[0]:.2f}–{walls[-1]:.2f} s")
    print(f"reopen_s={statistics.median(walls):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="126x16", help="the chart's cells (160x50: 126x16)")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--read", action="store_true", help="time reopening a long run instead")
    parser.add_argument("--reopen", action="store_true", help="time the app reopening a long run")
    parser.add_argument("--games", type=int, default=1_000_000, help="games in the run")
    args = parser.parse_args()
    if args.read or args.reopen:
        (read_times if args.read else reopen_times)(args.games)
        return
    size = tuple(int(v) for v in args.size.split("x"))
    hist, evals = history()

    def make_braille() -> CurvePanel:
        panel = CurvePanel()
        panel.games, panel.evals = hist, evals
        return panel

    def redraw_braille(panel: CurvePanel) -> None:
        panel._strips = []  # data changed: draw the chart again

    results: dict[str, list[float]] = {"braille": []}
    try:
        import textual_plotext  # noqa: F401

        results["plotext"] = []
    except ImportError:
        print("textual-plotext not installed: braille only")
    for _ in range(3):  # alternate, so drift hits both
        results["braille"] += asyncio.run(
            time_widget(make_braille, redraw_braille, size, args.repeat)
        )
        if "plotext" in results:
            results["plotext"] += asyncio.run(
                time_widget(lambda: plotext_widget(hist, evals), lambda w: w.redraw(), size,
                            args.repeat)
            )  # fmt: skip
    line = []
    for name, times in results.items():
        times.sort()
        median, p90 = statistics.median(times), times[int(len(times) * 0.9)]
        print(f"{name:8} median {median:6.2f} ms  p90 {p90:6.2f} ms  min {times[0]:6.2f} ms")
        line.append(f"{name}_ms={median:.2f}")
    if "plotext" in results:
        ratio = statistics.median(results["plotext"]) / statistics.median(results["braille"])
        line.append(f"ratio={ratio:.1f}")
    print(" ".join(line))


if __name__ == "__main__":
    main()
