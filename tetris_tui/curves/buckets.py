"""A whole run's games in a bounded number of buckets: flat memory for a run of days.

Each bucket summarises ``span`` consecutive games (count, sum, min, max, and the
timesteps and wall time of its first and last game). When the buckets are all
used, neighbours merge in pairs and ``span`` doubles, so a run of a billion games
costs the same memory as one of a thousand, and early games are never dropped:
the curve always starts at game one. Pure Python (the UI process imports no
numpy), and ``extend`` summarises whole slices with C builtins, so a reopened
run of a million games folds in well under a second.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

DEFAULT_CAPACITY = 1024


@dataclass(slots=True)
class Bucket:
    """Consecutive games: how many, their sum, min and max, and where they lie on x."""

    count: int
    total: float
    low: float
    high: float
    steps0: float  # timesteps at the first and the last game
    steps1: float
    time0: float  # wall time (epoch seconds) at the first and the last game
    time1: float

    @property
    def mean(self) -> float:
        return self.total / self.count

    def merge(self, other: Bucket) -> Bucket:
        return Bucket(
            self.count + other.count,
            self.total + other.total,
            min(self.low, other.low),
            max(self.high, other.high),
            self.steps0,
            other.steps1,
            self.time0,
            other.time1,
        )


class BucketHistory:
    """Every game of a run, downsampled into at most ``capacity`` buckets."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 2 or capacity % 2:
            raise ValueError("capacity must be an even number >= 2")
        self.capacity = capacity
        self.span = 1  # games per full bucket; doubles at each merge
        self.buckets: list[Bucket] = []
        self.count = 0  # games ever added
        self.version = 0  # bumps on every change: widgets redraw only when it moves

    def __len__(self) -> int:
        return len(self.buckets)

    def __iter__(self) -> Iterator[Bucket]:
        return iter(self.buckets)

    def add(self, value: float, steps: float, when: float) -> None:
        """One game (non-finite values are skipped: no NaN reaches a chart)."""
        if not math.isfinite(value):
            return
        value = float(value)
        last = self.buckets[-1] if self.buckets else None
        if last is not None and last.count < self.span:
            last.count += 1
            last.total += value
            if value < last.low:
                last.low = value
            if value > last.high:
                last.high = value
            last.steps1, last.time1 = steps, when
        else:
            self._open(Bucket(1, value, value, value, steps, steps, when, when))
        self.count += 1
        self.version += 1

    def extend(
        self, values: Sequence[float], steps: Sequence[object], times: Sequence[object]
    ) -> None:
        """Many games at once, in order; finite values only (the reader checks).

        ``steps`` and ``times`` may hold anything ``float()`` takes (bytes too):
        only the first and last game of each bucket are converted, which is most
        of what makes reading a million games fast.
        """
        total = len(values)
        if not (len(steps) == len(times) == total):
            raise ValueError("values, steps and times differ in length")
        index = 0
        while index < total:
            last = self.buckets[-1] if self.buckets else None
            if last is None or last.count >= self.span:
                end = min(total, index + self.span)
                part = values[index:end]
                self._open(
                    Bucket(
                        end - index,
                        math.fsum(part),
                        min(part),
                        max(part),
                        float(steps[index]),  # type: ignore[arg-type]
                        float(steps[end - 1]),  # type: ignore[arg-type]
                        float(times[index]),  # type: ignore[arg-type]
                        float(times[end - 1]),  # type: ignore[arg-type]
                    )
                )
            else:
                end = min(total, index + self.span - last.count)
                part = values[index:end]
                last.count += end - index
                last.total += math.fsum(part)
                last.low = min(last.low, min(part))
                last.high = max(last.high, max(part))
                last.steps1 = float(steps[end - 1])  # type: ignore[arg-type]
                last.time1 = float(times[end - 1])  # type: ignore[arg-type]
            index = end
        self.count += total
        if total:
            self.version += 1

    def _open(self, bucket: Bucket) -> None:
        if len(self.buckets) >= self.capacity:
            self._halve()
        self.buckets.append(bucket)

    def _halve(self) -> None:
        """Merge neighbours in pairs; a lone last bucket stays as it is."""
        old = self.buckets
        merged = [old[i].merge(old[i + 1]) for i in range(0, len(old) - 1, 2)]
        if len(old) % 2:
            merged.append(old[-1])
        self.buckets = merged
        self.span *= 2

    def clear(self) -> None:
        self.buckets.clear()
        self.span = 1
        self.count = 0
        self.version += 1

    @property
    def last(self) -> Bucket | None:
        return self.buckets[-1] if self.buckets else None

    def time_at(self, steps: float) -> float | None:
        """Wall time when training reached ``steps`` (for points that carry no time)."""
        if not self.buckets:
            return None
        ends = [bucket.steps1 for bucket in self.buckets]
        index = min(bisect_left(ends, steps), len(ends) - 1)
        return self.buckets[index].time1


def ema(buckets: Sequence[Bucket], window: int) -> list[float]:
    """Exponential moving average per game, read at each bucket's end.

    A bucket of ``n`` games with mean ``m`` moves the average as ``n`` games of
    ``m`` would, so the curve does not change shape as buckets merge. It is
    de-biased (as TensorBoard's is), so it starts at the first games, not at 0.
    ``window`` <= 1 means no smoothing: the bucket means.
    """
    if window <= 1:
        return [bucket.mean for bucket in buckets]
    decay = 1.0 - 1.0 / window
    raw = 0.0
    weight = 0.0
    out = []
    for bucket in buckets:
        keep = decay**bucket.count
        raw = raw * keep + bucket.mean * (1.0 - keep)
        weight = weight * keep + (1.0 - keep)
        out.append(raw / weight)
    return out
