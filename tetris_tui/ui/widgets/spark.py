"""Sparkline bars as plain data: the look of Textual's ``Sparkline``, computed once.

Textual's Sparkline renderable recomputes every bucket for every row of a
multi-row sparkline and builds a Style per cell through exact fractions; the
learning panel redraws several of them twice a second, which made it the
panel's main cost. This module gives the same bars (same buckets, levels and
min-to-max colour blend) with each bucket summarised once, and stays free of
Textual so it is unit-testable.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

BARS = "▁▂▃▄▅▆▇█"
RGB = tuple[int, int, int]


def columns(data: Sequence[float], width: int) -> list[float]:
    """One mean per column, bucketed like Textual's Sparkline (stretched if data is short)."""
    count = len(data)
    buckets = [
        statistics.fmean(data[count * b // width : count * (b + 1) // width])
        for b in range(width)
        if count * (b + 1) // width > count * b // width
    ]
    step = len(buckets) / width
    index = 0.0
    out = []
    for _ in range(width):
        out.append(buckets[int(index)])
        index += step
    return out


def blend(low: RGB, high: RGB, ratio: float) -> RGB:
    """The colour ``ratio`` of the way from ``low`` to ``high`` (as Textual blends it)."""
    return (
        int(low[0] + (high[0] - low[0]) * ratio),
        int(low[1] + (high[1] - low[1]) * ratio),
        int(low[2] + (high[2] - low[2]) * ratio),
    )


def spark_rows(
    data: Sequence[float], width: int, height: int, low: RGB, high: RGB
) -> list[list[tuple[str, RGB | None]]]:
    """``height`` rows (top first) of ``(text, colour)`` runs, ``width`` cells each.

    A colour of None is a blank cell. Runs of equal text colour are merged.
    """
    if width <= 0:
        return [[] for _ in range(height)]
    blank: list[tuple[str, RGB | None]] = [(" " * width, None)]
    if not data:
        return [blank] * (height - 1) + [[("▁" * width, low)]]
    if len(data) == 1:
        return [[("█" * width, high)] for _ in range(height)]
    minimum, maximum = min(data), max(data)
    extent = maximum - minimum or 1
    levels = len(BARS) * height - 1
    cells = []
    for value in columns(data, width):
        ratio = (value - minimum) / extent
        cells.append((int(ratio * levels), blend(low, high, ratio)))
    rows = []
    for line in reversed(range(height)):
        bottom, top = line * len(BARS), (line + 1) * len(BARS)
        runs: list[tuple[str, RGB | None]] = []
        for level, colour in cells:
            if level < bottom:
                char, cell_colour = " ", None
            elif level >= top:
                char, cell_colour = "█", colour
            else:
                char, cell_colour = BARS[level % len(BARS)], colour
            if runs and runs[-1][1] == cell_colour:
                runs[-1] = (runs[-1][0] + char, cell_colour)
            else:
                runs.append((char, cell_colour))
        rows.append(runs)
    return rows
