"""Read a run's whole learning curve, fast and in flat memory.

From the index RunLog keeps beside events.jsonl (sidecar.py: 24 bytes a game)
where it agrees with the file: a million games in tens of milliseconds. Else,
for a run recorded before the index or one whose index disagrees, from the
JSON itself. ``json.loads`` per line costs about 4 s per million games on
these machines; a regular expression over 2 MB chunks finds the lines of
every game in one pass, and ``BucketHistory.extend`` parses timesteps and
time only at bucket edges: ~0.65 s of CPU per million. A chunk whose game
lines do not all match the fast pattern (another protocol version, a torn
line) is parsed line by line with ``json``, so the fast path is a shortcut,
never a guess. Memory stays at one chunk plus the buckets, whatever the
file's size.
"""

from __future__ import annotations

import json
import math
import mmap
import os
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tetris_tui.curves import sidecar
from tetris_tui.curves.buckets import DEFAULT_CAPACITY, BucketHistory

EVENTS_FILE = sidecar.EVENTS_FILE
CHUNK = 1 << 21
EVAL_CAPACITY = 256
MEAN_WINDOW = 100

# An Episode as RunLog writes it (json.dumps of the dataclass's fields, in order):
# lines from every game, found in one pass over the chunk; timesteps and time
# only from the games at a bucket's edges (``_Fields``).
_START = b'{"episode":'
_LINES = re.compile(rb'\{"episode":\d+,"lines":(\d+),')
_X = re.compile(rb'"timesteps":(\d+),"time":([-+.\deE]+)[,}]')
# Twice in every episode record, however it is spaced: as a key and as the kind.
_EPISODE_WORD = b'"episode"'
_EVAL_WORD = b'"evaluation"'


@dataclass
class RunCurve:
    """Lines per game over the whole run, plus the greedy evaluations."""

    games: BucketHistory = field(default_factory=BucketHistory)
    evals: BucketHistory = field(default_factory=lambda: BucketHistory(EVAL_CAPACITY))
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=MEAN_WINDOW))


def read_curve(
    run_dir: Path, capacity: int = DEFAULT_CAPACITY, chunk: int = CHUNK, use_index: bool = True
) -> RunCurve:
    """Every game and evaluation of a run; empty if there is none.

    From the index (sidecar.py) where it agrees with events.jsonl, else from the JSON.
    """
    events = run_dir / EVENTS_FILE
    index = sidecar.valid_index(run_dir) if use_index else None
    if index is None:
        return read_json(events, 0, None, capacity, chunk)
    curve = read_json(events, 0, index.begins_at, capacity, chunk)  # before the index
    _read_index(index, curve, chunk)
    _read_evaluations(events, index.begins_at, curve)
    return curve


def _read_index(index: sidecar.Index, curve: RunCurve, chunk: int) -> None:
    """The indexed games, a chunk of whole records at a time (memory stays flat)."""
    step = max(1, chunk // sidecar.RECORD.size) * sidecar.RECORD.size
    with open(index.path, "rb") as handle:
        handle.seek(sidecar.HEADER.size)
        left = index.games * sidecar.RECORD.size
        while left > 0:
            data = handle.read(min(step, left))
            whole = len(data) - len(data) % sidecar.RECORD.size
            if not whole:
                break
            left -= whole
            view = memoryview(data)[:whole]
            numbers, floats = view.cast("q"), view.cast("d")
            values = numbers[0::3]
            curve.games.extend(values, numbers[1::3], floats[2::3])
            curve.recent.extend(values[-MEAN_WINDOW:])


def _read_evaluations(events: Path, start: int, curve: RunCurve) -> None:
    """Evaluations from byte ``start`` on: a search of the mapped file, JSON only for their
    lines. No copy of the file is made (a read of every chunk cost more than the rest)."""
    try:
        with open(events, "rb") as handle:
            if os.fstat(handle.fileno()).st_size <= start:
                return
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as view:
                found = view.find(_EVAL_WORD, start)
                while found != -1:
                    begin = view.rfind(b"\n", 0, found) + 1
                    end = view.find(b"\n", found)
                    end = len(view) if end == -1 else end
                    _add_evaluation(curve, view[begin:end])
                    found = view.find(_EVAL_WORD, end)
    except (OSError, ValueError):
        return  # evaluations are a convenience on the chart


def read_json(
    path: Path, start: int, end: int | None, capacity: int = DEFAULT_CAPACITY, chunk: int = CHUNK
) -> RunCurve:
    """Games and evaluations from bytes ``start`` to ``end`` of events.jsonl (line starts)."""
    curve = RunCurve(games=BucketHistory(capacity))
    if end is not None and end <= start:
        return curve
    try:
        handle = open(path, "rb")  # noqa: SIM115
    except OSError:
        return curve
    with handle:
        handle.seek(start)
        left = None if end is None else end - start
        rest = b""
        while left is None or left > 0:
            data = handle.read(chunk if left is None else min(chunk, left))
            if not data:
                break
            if left is not None:
                left -= len(data)
            data = rest + data
            cut = data.rfind(b"\n") + 1
            rest, data = data[cut:], data[:cut]
            if data:
                _read_chunk(data, curve)
        if rest:
            _read_chunk(rest, curve)  # a last line with no newline: kept only if whole
    return curve


def _read_chunk(data: bytes, curve: RunCurve) -> None:
    found = _LINES.findall(data)
    episodes = data.split(b"\n")
    episodes.pop()  # the chunk ends with a newline
    if len(episodes) != len(found):  # checkpoints, status, evaluations among the games
        episodes = [line for line in episodes if line.startswith(_START)]
    if len(found) == len(episodes) and 2 * len(found) == data.count(_EPISODE_WORD):
        if found:
            values = list(map(int, found))
            curve.games.extend(values, _Fields(episodes, 1), _Fields(episodes, 2))
            curve.recent.extend(values[-MEAN_WINDOW:])
    else:
        for line in _lines_with(data, _EPISODE_WORD):
            _add_episode(curve, line)
    if _EVAL_WORD in data:
        for line in _lines_with(data, _EVAL_WORD):
            _add_evaluation(curve, line)


class _Fields(Sequence[float]):
    """Timesteps (group 1) or time (group 2) of each game, parsed only when asked for."""

    def __init__(self, lines: list[bytes], group: int) -> None:
        self._lines = lines
        self._group = group

    def __len__(self) -> int:
        return len(self._lines)

    def __getitem__(self, index: int) -> float:  # type: ignore[override]
        for back in range(index, -1, -1):
            line = self._lines[back]
            match = _X.search(line)
            if match:
                return float(match.group(self._group))
            record = _record(line)  # RunLog never writes these: another shape, still JSON
            value = _number(record or {}, ("timesteps", "time")[self._group - 1])
            if value is not None:
                return value
        return 0.0


def _lines_with(data: bytes, marker: bytes) -> list[bytes]:
    return [line for line in data.split(b"\n") if marker in line]


def _record(line: bytes) -> dict | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None  # a torn line from a kill mid-write
    return record if isinstance(record, dict) else None


def _number(record: dict, key: str) -> float | None:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _add_episode(curve: RunCurve, line: bytes) -> None:
    record = _record(line)
    if record is None or record.get("kind") != "episode":
        return
    lines, steps = _number(record, "lines"), _number(record, "timesteps")
    when = _number(record, "time")
    if lines is None or steps is None or when is None:
        return
    curve.games.add(lines, steps, when)
    curve.recent.append(lines)


def _add_evaluation(curve: RunCurve, line: bytes) -> None:
    record = _record(line)
    if record is None or record.get("kind") != "evaluation":
        return
    mean, steps = _number(record, "lines_mean"), _number(record, "timesteps")
    if mean is not None and steps is not None:
        curve.evals.add(mean, steps, 0.0)  # its wall time comes from the games at that step
