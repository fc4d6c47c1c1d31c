"""``<run>/events.jsonl``: the run's history, one JSON object per line.

The worker appends episodes, checkpoints and status changes; the UI reads the
tail back when it reopens a run. Reading tolerates a torn last line (a kill
mid-write) and never loads more than it needs.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tetris_tui.curves import sidecar
from tetris_tui.protocol import LATEST, RUNNING, Checkpoint, Episode, Event, Status

EVENTS_FILE = "events.jsonl"
E = TypeVar("E", bound=Event)
_TAIL_BLOCK = 1 << 16
# One encoder for every line: ``json.dumps`` with options builds a new one a call.
_encode = json.JSONEncoder(separators=(",", ":")).encode


class RunLog:
    """Append-only writer used by the worker; line-buffered, no fsync per line."""

    def __init__(self, run_dir: Path) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        path = run_dir / EVENTS_FILE
        torn = _ends_torn(path)
        self._handle = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115
        if torn:
            # A kill mid-write left half a line: end it, or our first record joins it.
            self._write("\n")
        # The learning curve's index of the games (curves/sidecar.py): 24 bytes a game.
        self._curve = sidecar.open_for_append(run_dir)

    def append(self, event: Event) -> None:
        self.append_many((event,))

    def append_many(self, events: Iterable[Event]) -> None:
        """One write for a batch of events: cheaper than a write per line."""
        events = tuple(events)
        text = "".join(_encode(e.to_json()) + "\n" for e in events)
        games = [e for e in events if isinstance(e, Episode)]
        if self._write(text) and games and self._curve is not None:
            try:  # after the JSON: the index never holds a game the file lacks
                self._curve.write(sidecar.pack(games))
                self._curve.flush()
            except (OSError, ValueError):
                self._curve = None  # readers see the disagreement and read the JSON

    def _write(self, text: str) -> bool:
        try:
            self._handle.write(text)
            return True
        except (OSError, ValueError):
            return False  # history is a convenience; a full disk must not stop training

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._handle.close()
        if self._curve is not None:
            with contextlib.suppress(OSError):
                self._curve.close()


def _ends_torn(path: Path) -> bool:
    """Whether the file is non-empty and its last line has no newline."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            if handle.tell() == 0:
                return False
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) != b"\n"
    except OSError:
        return False


@dataclass
class RunHistory:
    """What a reopened run shows before anything is started."""

    episodes: list[Episode] = field(default_factory=list)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    timesteps: int = 0  # where training goes on from: ``latest``'s (0 without one)


def read_history(run_dir: Path, max_episodes: int = 1000) -> RunHistory:
    """The last ``max_episodes`` games and the checkpoints of a run directory."""
    history = RunHistory()
    for record in _tail_records(run_dir / EVENTS_FILE, max_lines=max_episodes * 2 + 200):
        kind = record.pop("kind", None)
        try:
            if kind == Episode.kind:
                history.episodes.append(Episode(**record))
            elif kind == Checkpoint.kind:
                history.checkpoints.append(Checkpoint(**record))
        except TypeError:
            continue  # a record from another version of the protocol
    history.episodes = history.episodes[-max_episodes:]
    # Not the last game's: after a kill, games past ``latest`` were never saved,
    # and the display would jump back to ``latest`` when training resumes.
    history.timesteps = _latest_timesteps(run_dir)
    return history


def _latest_timesteps(run_dir: Path) -> int:
    try:
        meta = json.loads((run_dir / LATEST / "meta.json").read_text())
        return int(meta.get("timesteps", 0))
    except (OSError, ValueError, TypeError, AttributeError):
        return 0


def _tail_records(path: Path, max_lines: int) -> list[dict[str, Any]]:
    """Parse the last ``max_lines`` lines, reading backwards in blocks."""
    try:
        handle = open(path, "rb")  # noqa: SIM115
    except OSError:
        return []
    with handle:
        handle.seek(0, os.SEEK_END)
        position = handle.tell()
        data = b""
        while position > 0 and data.count(b"\n") <= max_lines:
            step = min(_TAIL_BLOCK, position)
            position -= step
            handle.seek(position)
            data = handle.read(step) + data
    lines = data.split(b"\n")
    if position > 0:
        lines = lines[1:]  # the first line is probably cut
    records = []
    for line in lines[-max_lines:]:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue  # torn line from a kill mid-write
        if isinstance(record, dict):
            records.append(record)
    return records


@dataclass
class RecentGames:
    """What a resumed run carries on from its history: its last games and their count."""

    games: list[Episode] = field(default_factory=list)  # oldest first
    last_number: int = 0  # the highest game number ever recorded


def recent_games(run_dir: Path, count: int, upto: int | None = None) -> RecentGames:
    """The last ``count`` games of the saved line of training, numbered ``<= upto``.

    ``upto`` is the game count of the checkpoint being resumed (all when None):
    games after it were played by a model that was never saved, so they say
    nothing about the one that resumes. ``last_number`` still counts them, so no
    number is reused.

    A kill leaves such games in the middle of the file too: the next trainer
    resumed from an earlier save and numbered its games after them. Each
    trainer records ``Status(RUNNING, t)`` at the timestep it starts from,
    before its first game; read backwards, a game recorded before it with more
    timesteps than ``t`` belongs to a branch that no checkpoint kept.
    """
    found = RecentGames()
    if upto is not None and upto <= 0:
        count = 0  # a fresh model: only the numbering carries on
    reached = math.inf  # how far the saved line had trained, at this point of the file
    for event in _events_backwards(run_dir, Episode, Status):
        if isinstance(event, Status):
            if event.state == RUNNING:
                reached = min(reached, event.timesteps)
            continue
        if not isinstance(event, Episode):
            continue
        found.last_number = max(found.last_number, event.episode)
        if len(found.games) >= count:
            break  # games are numbered in file order: the last one has the top number
        if (upto is None or event.episode <= upto) and event.timesteps <= reached:
            found.games.append(event)
            reached = event.timesteps
    found.games.reverse()
    return found


def games_after(run_dir: Path, number: int, limit: int = 100_000) -> list[Episode]:
    """The recorded games numbered above ``number``, oldest first (at most ``limit``).

    For a viewer that fell behind: it reads back what was dropped for it.
    """
    found: list[Episode] = []
    for game in _events_backwards(run_dir, Episode):
        if game.episode <= number or len(found) >= limit:
            break
        found.append(game)
    found.reverse()
    return found


def last_status(run_dir: Path) -> Status | None:
    """The last status a run recorded (how it ended, or where it was when it died)."""
    return next(iter(_events_backwards(run_dir, Status)), None)


def _events_backwards(run_dir: Path, *kinds: type[E]) -> Iterator[E]:
    """The run's recorded events of the given kinds, newest first, read from the end.

    Lines torn by a kill, or from another protocol version, are skipped.
    """
    try:
        handle = open(run_dir / EVENTS_FILE, "rb")  # noqa: SIM115
    except OSError:
        return
    by_name = {kind.kind: kind for kind in kinds}
    markers = [f'"kind":"{name}"'.encode() for name in by_name]
    with handle:
        for line in _lines_backwards(handle):
            if not any(marker in line for marker in markers):
                continue
            try:
                record = json.loads(line)
                yield by_name[record.pop("kind")](**record)
            except (ValueError, TypeError, KeyError, AttributeError):
                continue


def _lines_backwards(handle: Any) -> Iterable[bytes]:
    """The file's lines, last first, reading blocks from the end."""
    handle.seek(0, os.SEEK_END)
    position = handle.tell()
    rest = b""
    while position > 0:
        step = min(_TAIL_BLOCK, position)
        position -= step
        handle.seek(position)
        parts = (handle.read(step) + rest).split(b"\n")
        rest = parts[0]  # may continue in the block before
        yield from reversed(parts[1:])
    yield rest
