"""Bounded numeric series and number formatting shared by the panels.

Kept free of Textual so the maths (NaN filtering, rolling means, compact
numbers) is unit-testable on its own and cheap to call 20 times a second.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable


def finite(value: object) -> float | None:
    """``value`` as a float, or None for None/NaN/inf/non-numbers (Sparkline chokes on NaN)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def fmt_num(value: float | None, digits: int = 3) -> str:
    """A short number: ``12``, ``1.94``, ``0.0123``, ``12.3k``, ``4.5M``; ``–`` if missing."""
    value = finite(value)
    if value is None:
        return "–"
    magnitude = abs(value)
    if magnitude >= 1e4:
        scaled, suffix = (value / 1e6, "M") if magnitude >= 1e6 else (value / 1e3, "k")
        text = f"{scaled:.{max(digits - 2, 1)}f}"
        return (text.rstrip("0").rstrip(".") if "." in text else text) + suffix
    if value == int(value) and magnitude >= 1:
        return f"{int(value)}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude == 0:
        return "0"
    if magnitude < 1e-3:
        return f"{value:.1e}"
    decimals = max(digits - 1 - int(math.floor(math.log10(magnitude))), 0)
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt_int(value: int | float | None) -> str:
    """Thousands-separated integer (``12,288``); ``–`` when missing."""
    value = finite(value)
    return "–" if value is None else f"{int(value):,}"


def fmt_duration(seconds: float | None) -> str:
    """``H:MM:SS`` (or ``M:SS`` under an hour); ``–`` when missing."""
    seconds = finite(seconds)
    if seconds is None or seconds < 0:
        return "–"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Series:
    """A bounded history of one figure, with all-time min/max and a rolling mean.

    The deque bounds memory and the cost of copying into a Sparkline; min and
    max are tracked over everything ever pushed so they do not drift as old
    points fall out of the window.
    """

    def __init__(self, maxlen: int = 1000, mean_window: int = 100) -> None:
        self.values: deque[float] = deque(maxlen=maxlen)
        self._window: deque[float] = deque(maxlen=mean_window)
        self._window_sum = 0.0
        self.count = 0
        self.min: float | None = None
        self.max: float | None = None

    def push(self, value: object) -> bool:
        """Append a value; None/NaN/inf are ignored. Returns whether it was kept."""
        number = finite(value)
        if number is None:
            return False
        self.values.append(number)
        if len(self._window) == self._window.maxlen:
            self._window_sum -= self._window[0]
        self._window.append(number)
        self._window_sum += number
        self.count += 1
        self.min = number if self.min is None else min(self.min, number)
        self.max = number if self.max is None else max(self.max, number)
        return True

    def extend(self, values: Iterable[object]) -> None:
        for value in values:
            self.push(value)

    @property
    def last(self) -> float | None:
        return self.values[-1] if self.values else None

    @property
    def mean(self) -> float | None:
        """Mean of the last ``mean_window`` values (None when empty)."""
        if not self._window:
            return None
        # Recompute now and then so float drift from the running sum cannot build up.
        if self.count % 4096 == 0:
            self._window_sum = math.fsum(self._window)
        return self._window_sum / len(self._window)

    def data(self) -> list[float]:
        """A fresh list for ``Sparkline.data`` (the reactive needs a new object)."""
        return list(self.values)

    def clear(self) -> None:
        self.values.clear()
        self._window.clear()
        self._window_sum = 0.0
        self.count = 0
        self.min = self.max = None
