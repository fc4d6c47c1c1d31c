"""The lines/game chart as plain rows of ``(text, style name)`` runs: axes, points, lines.

Faint points are the finished games (each game while the run has fewer games
than buckets, then each bucket's mean); over them the smoothed line (EMA per
game), the greedy evaluations when there are any, and the games still running,
counted by their lines so far (a sample per metrics tick: once games are long,
the ones that finish first are the short ones, and the finished line lags).
The x axis is timesteps or wall time since the first game; y is linear from 0,
or log(1 + lines).
Free of Textual, so the maths is testable and the widget only styles runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from tetris_tui.curves.buckets import Bucket, BucketHistory, ema
from tetris_tui.ui.widgets.braille import Canvas, scale
from tetris_tui.ui.widgets.series import fmt_duration, fmt_num

STEPS, TIME = "steps", "time"
LABEL_WIDTH = 6  # y labels (5) and the axis
# Canvas layers, bottom to top: where they share a cell the higher one colours it.
POINTS, EVAL, RUNNING, LINE = 0, 1, 2, 3
LAYER_STYLES = {-1: None, POINTS: "points", EVAL: "eval", RUNNING: "running", LINE: "line"}
Runs = list[tuple[str, str | None]]


@dataclass(frozen=True)
class View:
    """What the keys change: the x axis, log y, and the EMA window in games."""

    axis: str = STEPS
    log_y: bool = False
    window: int = 100


def nice_ceiling(value: float) -> float:
    """The next round number (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10^k) at or above ``value``."""
    if value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _x_of(bucket: Bucket, axis: str, origin: float) -> float:
    if axis == TIME:
        return (bucket.time0 + bucket.time1) / 2 - origin
    return (bucket.steps0 + bucket.steps1) / 2


def draw(
    games: BucketHistory,
    evals: BucketHistory,
    view: View,
    width: int,
    height: int,
    running: BucketHistory | None = None,
) -> list[Runs]:
    """``height`` rows of runs, each exactly ``width`` cells wide."""
    if width <= LABEL_WIDTH + 4 or height < 2:
        return [[(" " * max(width, 0), None)] for _ in range(max(height, 0))]
    plot_w, plot_h = width - LABEL_WIDTH, height - 1
    buckets = list(games)
    live = list(running) if running is not None else []
    if not buckets and not live:
        return _empty(width, height, "no games yet")
    origin = (buckets or live)[0].time0
    xs = [_x_of(bucket, view.axis, origin) for bucket in buckets]
    means = [bucket.mean for bucket in buckets]
    smooth = ema(buckets, view.window) if buckets else []
    eval_xs, eval_ys = _eval_points(games, evals, view.axis, origin)
    live_xs = [max(0.0, _x_of(bucket, view.axis, origin)) for bucket in live]
    live_ys = [bucket.mean for bucket in live]
    transform = (lambda v: math.log10(1.0 + max(v, 0.0))) if view.log_y else float
    top = max([*means, *smooth, *eval_ys, *live_ys, 1.0])
    top = top if view.log_y else nice_ceiling(top)
    first, last = (buckets or live)[0], (buckets or live)[-1]
    x_low = 0.0 if view.axis == TIME else min([first.steps0, *eval_xs[:1], *live_xs[:1]])
    end = last.time1 - origin if view.axis == TIME else last.steps1
    x_high = max([end, *eval_xs[-1:], *live_xs[-1:]])
    canvas = Canvas(plot_w, plot_h, layers=4)

    def dots_x(values: Sequence[float]) -> list[int]:
        return scale(values, x_low, x_high, canvas.dots_x)

    def dots_y(values: Sequence[float]) -> list[int]:
        return scale([transform(v) for v in values], 0.0, transform(top), canvas.dots_y)

    canvas.points(POINTS, dots_x(xs), dots_y(means))
    if eval_xs:
        canvas.line(EVAL, dots_x(eval_xs), dots_y(eval_ys))
    if live_xs:
        canvas.line(RUNNING, dots_x(live_xs), dots_y(live_ys))
    canvas.line(LINE, dots_x(xs), dots_y(smooth))
    rows: list[Runs] = []
    labels = _y_labels(top, view.log_y, plot_h)
    for index, runs in enumerate(canvas.rows()):
        label = labels.get(index)
        axis = f"{label:>{LABEL_WIDTH - 1}}┤" if label else " " * (LABEL_WIDTH - 1) + "│"
        rows.append([(axis, "axis"), *((text, LAYER_STYLES[layer]) for text, layer in runs)])
    rows.append([(" " * (LABEL_WIDTH - 1) + _x_axis(x_low, x_high, view.axis, plot_w), "axis")])
    return rows


def _eval_points(
    games: BucketHistory, evals: BucketHistory, axis: str, origin: float
) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for bucket in evals:
        if axis == TIME:
            when = games.time_at(bucket.steps1)
            if when is None:
                continue
            xs.append(when - origin)
        else:
            xs.append(bucket.steps1)
        ys.append(bucket.mean)
    return xs, ys


def _y_labels(top: float, log_y: bool, rows: int) -> dict[int, str]:
    """Top, middle and bottom row labels (the middle only where there is room)."""
    labels = {0: fmt_num(top), rows - 1: "0"}
    if rows >= 5:
        middle = math.sqrt(1.0 + top) - 1.0 if log_y else top / 2
        labels[(rows - 1) // 2] = fmt_num(round(middle, 1) if log_y else middle)
    return {row: text[: LABEL_WIDTH - 1] for row, text in labels.items()}


def _x_text(value: float, axis: str) -> str:
    return fmt_duration(value) if axis == TIME else fmt_num(value)


def _x_axis(low: float, high: float, axis: str, width: int) -> str:
    """``└first ── middle ── last steps``: exactly ``width + 1`` cells."""
    name = "steps" if axis == STEPS else "wall time"
    left, right = "└" + _x_text(low, axis), f"{_x_text(high, axis)} {name}"
    middle = f" {_x_text((low + high) / 2, axis)} "
    room = width + 1 - len(left) - len(right)
    if room < len(middle) + 4:
        return (left + "─" * max(room, 0) + right)[: width + 1].ljust(width + 1)
    before = (room - len(middle)) // 2
    return left + "─" * before + middle + "─" * (room - len(middle) - before) + right


def _empty(width: int, height: int, text: str) -> list[Runs]:
    rows: list[Runs] = [[(" " * width, None)] for _ in range(height)]
    rows[height // 2] = [(text.center(width)[:width], "axis")]
    return rows
