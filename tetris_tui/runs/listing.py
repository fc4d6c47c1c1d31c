"""Every run under some directories, and every live trainer: what ``tetris-tui ls`` shows.

A run directory is one with history (events.jsonl), a checkpoint, a trainer
card or a worker lock. Live trainers registered anywhere are listed too, so a
detached trainer is never invisible. A trainer is live while it holds the run's
worker lock (the kernel says so, not a pid that may have been reused); one whose
card is missing (its socket could not be bound) is still listed, and one whose
training has not moved for ``STALL_SECONDS`` (hung, or SIGSTOPped) says
"stalled". Reads only small files: cheap enough for a shell prompt.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tetris_tui.protocol import BEST, LATEST, TERMINAL_STATES
from tetris_tui.runs.runlock import WORKER_LOCK_FILE, holder_pid, probe
from tetris_tui.runs.runlog import EVENTS_FILE, last_status
from tetris_tui.runs.trainers import (
    TRAINER_FILE,
    TrainerInfo,
    live_trainer,
    registered_trainers,
)
from tetris_tui.tune.spec import study_label

# Directories that are parts of a run, never runs of their own.
_RUN_PARTS = {"latest", "best", "final", "slots", "replays"}
MAX_DEPTH = 3

# A live trainer's state, in words for the table.
_LIVE_WORDS = {"running": "training", "starting": "starting", "stopping": "stopping"}
# No training step (or no heartbeat at all) for this long: "stalled". Longer than
# the longest pause of a healthy trainer (an update, a save, a periodic evaluation).
STALL_SECONDS = 120.0


@dataclass(frozen=True)
class RunRow:
    path: Path
    state: str  # training, stalled, paused, starting, stopping, stopped, finished, crashed, new
    pid: int | None
    timesteps: int
    steps_per_sec: float | None
    best: float | None
    last_activity: float | None
    rules: str = "gymnasium"  # rules.base.describe of the run's rule set


def rules_label(meta: dict) -> str:
    """The rule set a meta.json's config plays (``describe``: gymnasium, research 10x10...)."""
    from tetris_tui.rules.base import describe

    env = (meta.get("config") or {}).get("env") or {}
    return describe(
        str(env.get("rules", "gymnasium")),
        int(env.get("height", 20)),
        str(env.get("randomizer", "bag")),
    )


def find_runs(roots: Iterable[Path]) -> list[Path]:
    """Run directories at or below ``roots`` (a few levels deep), sorted."""
    found: set[Path] = set()
    for root in roots:
        _walk(root, 0, found)
    return sorted(found)


def list_runs(roots: Iterable[Path]) -> list[RunRow]:
    """One row per run under ``roots``, plus every live trainer registered elsewhere."""
    paths = {p.resolve() for p in find_runs(roots)}
    paths |= {Path(card.run_dir) for card in registered_trainers()}
    return [_with_rules(describe_run(path)) for path in sorted(paths)]


def _with_rules(row: RunRow) -> RunRow:
    import dataclasses

    return dataclasses.replace(row, rules=rules_label(_read_json(row.path / LATEST / "meta.json")))


def describe_run(
    run_dir: Path, now: float | None = None, stall_after: float = STALL_SECONDS
) -> RunRow:
    now = time.time() if now is None else now
    card = live_trainer(run_dir)
    latest = _read_json(run_dir / LATEST / "meta.json")
    best = _read_json(run_dir / BEST / "meta.json").get("best_lines_mean")
    activity = _mtime(run_dir / EVENTS_FILE, run_dir / TRAINER_FILE, run_dir / LATEST)
    saved_steps = int(latest.get("timesteps", 0) or 0)
    if card is not None:
        return RunRow(
            path=run_dir,
            state="stalled" if _stalled(card, now, stall_after) else _live_word(card.state),
            pid=card.pid,
            timesteps=max(card.timesteps, saved_steps),
            steps_per_sec=card.steps_per_sec,
            best=best if isinstance(best, (int, float)) else None,
            last_activity=max(activity or 0.0, card.updated_at) or None,
        )
    if probe(run_dir):  # a trainer holds the run but has no card: no socket, or starting
        return RunRow(
            path=run_dir,
            state="training (no card)",
            pid=holder_pid(run_dir),
            timesteps=saved_steps,
            steps_per_sec=None,
            best=best if isinstance(best, (int, float)) else None,
            last_activity=activity,
        )
    status = last_status(run_dir)
    if status is None:
        state = "stopped" if latest else "new"
    elif status.state in TERMINAL_STATES:
        state = status.state
    else:
        state = "crashed"  # it was running and left no word: killed
    return RunRow(
        path=run_dir,
        state=state,
        pid=None,
        timesteps=int(latest.get("timesteps", 0) or 0),
        steps_per_sec=None,
        best=best if isinstance(best, (int, float)) else None,
        last_activity=activity,
    )


def _live_word(state: str) -> str:
    return _LIVE_WORDS.get(state, state)


def _stalled(card: TrainerInfo, now: float, stall_after: float) -> bool:
    """No heartbeat (the whole process is stuck or stopped), or training, yet no
    step, for ``stall_after`` seconds."""
    if card.updated_at and now - card.updated_at > stall_after:
        return True
    moved = card.last_step_at or card.updated_at
    return card.state == "running" and bool(moved) and now - moved > stall_after


def format_runs(rows: list[RunRow], now: float | None = None) -> str:
    """A plain table, one run a line."""
    now = time.time() if now is None else now
    header = ("RUN", "STATE", "PID", "TIMESTEPS", "STEPS/S", "BEST", "LAST ACTIVITY")
    studies = [study_label(row.path) for row in rows]  # a tune trial's "STUDY #7"
    if any(studies):
        header += ("STUDY",)
    other_rules = any(row.rules != "gymnasium" for row in rows)
    if other_rules:
        header += ("RULES",)
    table = [header]
    for row, study in zip(rows, studies, strict=True):
        table.append(
            (
                str(row.path),
                row.state,
                str(row.pid) if row.pid else "-",
                f"{row.timesteps:,}",
                f"{row.steps_per_sec:,.0f}" if row.steps_per_sec is not None else "-",
                f"{row.best:.2f}" if row.best is not None else "-",
                _ago(now - row.last_activity) if row.last_activity else "-",
            )
            + ((study or "-",) if any(studies) else ())
            + ((row.rules,) if other_rules else ())
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True)).rstrip()
        for r in table
    )


def _walk(directory: Path, depth: int, found: set[Path]) -> None:
    if _is_run(directory):
        found.add(directory)
    if depth >= MAX_DEPTH:
        return
    try:
        children = [p for p in directory.iterdir() if p.is_dir()]
    except OSError:
        return
    for child in children:
        name = child.name
        if name.startswith(".") or name in _RUN_PARTS or ".bad-" in name:
            continue
        _walk(child, depth + 1, found)


def _is_run(directory: Path) -> bool:
    markers = (EVENTS_FILE, TRAINER_FILE, LATEST, WORKER_LOCK_FILE)
    return any((directory / name).exists() for name in markers)


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _mtime(*paths: Path) -> float | None:
    times = []
    for path in paths:
        try:
            times.append(path.stat().st_mtime)
        except OSError:
            continue
    return max(times) if times else None


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit} ago"
    return f"{seconds:.0f}s ago"
