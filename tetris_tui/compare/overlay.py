"""Several learning curves on one braille chart, each in its own colour.

Each run is drawn as the main curve's smoothed line (an EMA of lines per game,
chart.py's maths). A group of seeds is drawn as the mean of its runs, sampled
on one x grid over the stretch every seed covers, with a faint band from the
lowest to the highest seed at each x: the spread. Rows come out as
``(text, style name)`` runs, like chart.draw, so the compare screen and the
SVG export draw the same picture. Free of Textual.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

from tetris_tui.compare.runs import Group, Run
from tetris_tui.curves.buckets import ema
from tetris_tui.ui.widgets.braille import Canvas, scale
from tetris_tui.ui.widgets.chart import LABEL_WIDTH, STEPS, TIME, Runs, _x_axis, _y_labels
from tetris_tui.ui.widgets.chart import nice_ceiling as _nice

# One colour per curve, distinct in 256 colours too; they repeat past eight runs.
PALETTE = (
    "#4ebf71",
    "#fea62b",
    "#3d9df3",
    "#e85d75",
    "#b48ef0",
    "#2ec4b6",
    "#f2d544",
    "#c0c0c0",
)
GRID = 400  # x samples of a group's mean
WINDOW = 100  # EMA window, in games (as the main curve's default)


@dataclass(frozen=True)
class Series:
    """One curve: a run, or the mean of a group with its band."""

    name: str
    xs: list[float]
    ys: list[float]
    low: list[float] | None = None
    high: list[float] | None = None
    runs: int = 1


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def run_points(run: Run, axis: str, window: int = WINDOW) -> tuple[list[float], list[float]]:
    """The run's smoothed curve: x in steps, or seconds since its first game."""
    buckets = list(run.curve.games)
    if not buckets:
        return [], []
    origin = buckets[0].time0
    if axis == TIME:
        xs = [(b.time0 + b.time1) / 2 - origin for b in buckets]
    else:
        xs = [(b.steps0 + b.steps1) / 2 for b in buckets]
    return xs, ema(buckets, window)


def group_series(group: Group, axis: str, window: int = WINDOW) -> Series:
    """A run's own points, or a group's mean and band on a shared grid."""
    curves = [run_points(run, axis, window) for run in group.runs]
    curves = [(xs, ys) for xs, ys in curves if xs]
    if len(group.runs) == 1 or len(curves) < 2:
        xs, ys = curves[0] if curves else ([], [])
        return Series(group.name, xs, ys, runs=len(group.runs))
    low_x = max(xs[0] for xs, _ in curves)
    high_x = min(xs[-1] for xs, _ in curves)
    if high_x <= low_x:  # no stretch that every seed covers: use the whole span
        low_x, high_x = min(xs[0] for xs, _ in curves), max(xs[-1] for xs, _ in curves)
    grid = [low_x + (high_x - low_x) * i / (GRID - 1) for i in range(GRID)]
    mean, low, high, at = [], [], [], []
    for x in grid:
        values = [v for xs, ys in curves if (v := _interpolate(xs, ys, x)) is not None]
        if values:
            at.append(x)
            mean.append(sum(values) / len(values))
            low.append(min(values))
            high.append(max(values))
    return Series(group.name, at, mean, low, high, runs=len(group.runs))


def _interpolate(xs: Sequence[float], ys: Sequence[float], x: float) -> float | None:
    """y at x on the polyline, None outside it."""
    if not xs or x < xs[0] or x > xs[-1]:
        return None
    index = bisect_left(xs, x)
    if xs[index] == x or index == 0:
        return ys[index]
    x0, x1, y0, y1 = xs[index - 1], xs[index], ys[index - 1], ys[index]
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


def draw_overlay(
    series: list[Series], axis: str, width: int, height: int, log_y: bool = False
) -> list[Runs]:
    """``height`` rows of runs ``width`` cells wide; styles ``line{i}``, ``band{i}``, ``axis``."""
    if width <= LABEL_WIDTH + 4 or height < 2:
        return [[(" " * max(width, 0), None)] for _ in range(max(height, 0))]
    drawn = [s for s in series if s.xs]
    if not drawn:
        rows: list[Runs] = [[(" " * width, None)] for _ in range(height)]
        rows[height // 2] = [("no games yet".center(width)[:width], "axis")]
        return rows
    plot_w, plot_h = width - LABEL_WIDTH, height - 1
    tops = [max(s.high or s.ys) for s in drawn]
    top = max([*tops, 1.0])
    top = top if log_y else _nice(top)
    x_low = 0.0 if axis == TIME else min(s.xs[0] for s in drawn)
    x_high = max(s.xs[-1] for s in drawn)
    # Layers: every band below every line, so a line is never hidden by a band.
    canvas = Canvas(plot_w, plot_h, layers=2 * len(series))
    transform = (lambda v: math.log10(1.0 + max(v, 0.0))) if log_y else float

    def dots_y(values: Sequence[float]) -> list[int]:
        return scale([transform(v) for v in values], 0.0, transform(top), canvas.dots_y)

    for index, one in enumerate(series):
        if not one.xs:
            continue
        dots_x = scale(one.xs, x_low, x_high, canvas.dots_x)
        if one.low is not None and one.high is not None:
            for x, y0, y1 in zip(dots_x, dots_y(one.low), dots_y(one.high), strict=True):
                for y in range(y0, y1 + 1):
                    canvas.dot(index, x, y)
        canvas.line(len(series) + index, dots_x, dots_y(one.ys))
    names = {-1: None}
    for index in range(len(series)):
        names[index] = f"band{index}"
        names[len(series) + index] = f"line{index}"
    labels = _y_labels(top, log_y, plot_h)
    out: list[Runs] = []
    for row, runs in enumerate(canvas.rows()):
        label = labels.get(row)
        axis_cell = f"{label:>{LABEL_WIDTH - 1}}┤" if label else " " * (LABEL_WIDTH - 1) + "│"
        out.append([(axis_cell, "axis"), *((text, names[layer]) for text, layer in runs)])
    out.append([(" " * (LABEL_WIDTH - 1) + _x_axis(x_low, x_high, axis, plot_w), "axis")])
    return out


def legend(series: list[Series]) -> list[tuple[str, str]]:
    """``(text, style name)`` per curve: its mark, name, and last value."""
    entries = []
    for index, one in enumerate(series):
        last = f"{one.ys[-1]:.1f}" if one.ys else "no games"
        band = "  band: min–max of the seeds" if one.low is not None else ""
        entries.append((f"━━ {one.name}  {last}{band}", f"line{index}"))
    return entries


__all__ = ["STEPS", "TIME", "Series", "draw_overlay", "group_series", "legend", "colour"]
