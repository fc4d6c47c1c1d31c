"""Exports: every game and evaluation as CSV, the learning curve as SVG.

The CSV comes from events.jsonl line by line (each record once, in the order
it was written; a torn last line from a kill is skipped), so it holds exactly
what the run recorded. The SVG is the compare chart itself, rendered by Rich's
``export_svg``: the picture the terminal shows, colours and legend included.
Both files are written atomically (runs/atomic.py).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.style import Style
from rich.text import Text

from tetris_tui.compare.overlay import colour, draw_overlay, group_series, legend
from tetris_tui.compare.runs import Run, group_runs
from tetris_tui.curves.reader import EVENTS_FILE
from tetris_tui.runs.atomic import atomic_write_bytes

COLUMNS = (
    "kind",
    "episode",
    "timesteps",
    "time",
    "lines",
    "pieces",
    "reward",
    "length",
    "duration_s",
    "capped",
    "env_index",
    "games",
    "lines_mean",
    "lines_max",
)
KINDS = ("episode", "evaluation")


def records(run_dir: Path) -> Iterator[dict[str, Any]]:
    """The run's games and evaluations, as recorded."""
    with open(run_dir / EVENTS_FILE, "rb") as handle:
        for line in handle:
            if b'"episode"' not in line and b'"evaluation"' not in line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a torn line from a kill mid-write
            if isinstance(record, dict) and record.get("kind") in KINDS:
                yield record


def write_csv(run_dir: Path, out: Path) -> tuple[int, int]:
    """Write every game and evaluation; the number of each."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    counts = {kind: 0 for kind in KINDS}
    for record in records(run_dir):
        writer.writerow(record)
        counts[record["kind"]] += 1
    atomic_write_bytes(out, buffer.getvalue().encode())
    return counts["episode"], counts["evaluation"]


def write_svg(
    runs: list[Run],
    out: Path,
    axis: str,
    grouped: bool = False,
    width: int = 110,
    height: int = 28,
) -> None:
    """The compare chart of ``runs`` (one run: its learning curve) as an SVG image."""
    series = [group_series(group, axis) for group in group_runs(runs, grouped)]
    console = Console(record=True, width=width, file=io.StringIO(), color_system="truecolor")
    styles: dict[str | None, Style] = {None: Style(), "axis": Style(color="grey62")}
    for index in range(len(series)):
        styles[f"line{index}"] = Style(color=colour(index), bold=True)
        styles[f"band{index}"] = Style(color=colour(index), dim=True)
    console.print(Text("lines/game, EMA of 100 games", style="bold"))
    for row in draw_overlay(series, axis, width, height):
        line = Text(no_wrap=True)
        for text, name in row:
            line.append(text, styles[name])
        console.print(line)
    for index, (entry, _) in enumerate(legend(series)):
        console.print(Text(entry, style=Style(color=colour(index), bold=True)))
    title = "tetris-tui: " + ", ".join(s.name for s in series)
    atomic_write_bytes(out, console.export_svg(title=title[:120]).encode())
