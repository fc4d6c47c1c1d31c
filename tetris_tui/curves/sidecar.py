"""``<run>/events.curve``: the learning curve's index of events.jsonl, 24 bytes a game.

events.jsonl stays the run's history; beside it RunLog appends each game's
lines, timesteps and time as three packed numbers. Reading a million games
from JSON costs ~0.65 s of CPU at best and 3 s on a busy 2-core machine;
from here it is a few tens of milliseconds. The header says at which byte of
events.jsonl the index began (0 for a new run; the size it had for a run
recorded before the index existed), and readers take the JSON up to there.

The index is trusted only while it agrees with events.jsonl: its last game
must be the file's last game. A kill between the two writes, a full disk or
an edited file makes them disagree; readers then read the JSON, and the next
RunLog starts a new index from the end of the file. It can be deleted at any
time. Free of the UI and of training: both sides import it.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

CURVE_FILE = "events.curve"
EVENTS_FILE = "events.jsonl"
HEADER = struct.Struct("<8sq")  # magic, byte of events.jsonl where the index begins
MAGIC = b"TTCURVE1"
RECORD = struct.Struct("<qqd")  # lines, timesteps, time
_TAIL = 1 << 16


def pack(games: Iterable[Any]) -> bytes:
    """The records of some games (objects with ``lines``, ``timesteps`` and ``time``)."""
    return b"".join(RECORD.pack(int(g.lines), int(g.timesteps), float(g.time)) for g in games)


@dataclass(frozen=True)
class Index:
    """A valid index: where in events.jsonl it begins, and how many games it holds."""

    path: Path
    begins_at: int
    games: int


def valid_index(run_dir: Path) -> Index | None:
    """The index, if it agrees with events.jsonl; None if missing or not to be trusted."""
    path = run_dir / CURVE_FILE
    try:
        with open(path, "rb") as handle:
            header = handle.read(HEADER.size)
            size = os.fstat(handle.fileno()).st_size
            if len(header) < HEADER.size:
                return None
            magic, begins_at = HEADER.unpack(header)
            games = (size - HEADER.size) // RECORD.size
            last = None
            if games:
                handle.seek(HEADER.size + (games - 1) * RECORD.size)
                last = RECORD.unpack(handle.read(RECORD.size))
        events_size = (run_dir / EVENTS_FILE).stat().st_size
    except OSError:
        return None
    if magic != MAGIC or not 0 <= begins_at <= events_size:
        return None
    found = last_game(run_dir / EVENTS_FILE)
    if last is None:
        # Empty index: right only if no game was written after it began.
        ok = found is None or found[1] < begins_at
    else:
        ok = found is not None and found[0] == last and found[1] >= begins_at
    return Index(path, begins_at, games) if ok else None


def last_game(events: Path) -> tuple[tuple[int, int, float], int] | None:
    """The last whole game line of events.jsonl: its (lines, timesteps, time) and offset."""
    try:
        handle = open(events, "rb")  # noqa: SIM115
    except OSError:
        return None
    with handle:
        position = handle.seek(0, os.SEEK_END)
        cut = b""  # the start of a line whose beginning is in the block before
        while position > 0:
            step = min(_TAIL, position)
            position -= step
            handle.seek(position)
            lines = (handle.read(step) + cut).split(b"\n")
            whole = lines[1:] if position > 0 else lines
            start = position + len(lines[0]) + 1 if position > 0 else 0
            starts = []
            for line in whole:
                starts.append(start)
                start += len(line) + 1
            for line, begins in zip(reversed(whole), reversed(starts), strict=True):
                game = _game(line)
                if game is not None:
                    return game, begins
            cut = lines[0] if position > 0 else b""
    return None


def _game(line: bytes) -> tuple[int, int, float] | None:
    if b'"episode"' not in line:
        return None
    try:
        record = json.loads(line)
        if record.get("kind") != "episode":
            return None
        return int(record["lines"]), int(record["timesteps"]), float(record["time"])
    except (ValueError, TypeError, KeyError, AttributeError):
        return None  # torn by a kill, or not a game


def open_for_append(run_dir: Path) -> BinaryIO | None:
    """The index, open to append; a new one (from the end of events.jsonl) if it disagrees.

    Called by RunLog, which holds the run's lock: nobody else writes either file.
    """
    path = run_dir / CURVE_FILE
    try:
        index = valid_index(run_dir)
        if index is None:
            events = run_dir / EVENTS_FILE
            events_size = events.stat().st_size if events.exists() else 0
            with open(path, "wb") as handle:
                handle.write(HEADER.pack(MAGIC, events_size))
        else:
            # A kill mid-write may have left part of a record: drop it.
            os.truncate(path, HEADER.size + index.games * RECORD.size)
        return open(path, "ab")  # noqa: SIM115
    except OSError:
        return None  # no index: readers read the JSON
