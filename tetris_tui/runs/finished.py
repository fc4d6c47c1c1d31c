"""Whether a run already reached what a start asks for: its total, or its target.

A finished run is left untouched: training it again would only rewrite
``latest`` and ``final``. The limits belong to the start, not to the run: a
larger ``--total-timesteps``, a higher ``--target-lines`` or no target trains it
on from ``latest``. The app, ``--headless`` and the trainer ask the same
question here, so they never disagree about a run. The UI imports this module:
it reads meta.json only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tetris_tui.protocol import LATEST
from tetris_tui.runs.checkpoints import CheckpointError, finished_message, read_meta

# Games in a full window: the target is judged on their mean (worker/game_stats.WINDOW).
WINDOW_GAMES = 100


def run_finished(
    run_dir: Path, total_timesteps: int, target_lines: float | None = None
) -> str | None:
    """One line when ``latest`` already reached these limits, else None."""
    try:
        meta = read_meta(run_dir / LATEST)
    except CheckpointError:
        return None
    return finished_reason(meta, total_timesteps, target_lines)


def finished_reason(
    meta: dict[str, Any], total_timesteps: int, target_lines: float | None = None
) -> str | None:
    """Why a checkpoint (its meta.json) is finished for these limits, in one line; or None.

    Finished: it has ``total_timesteps``, or its full window of games already has
    a mean of at least ``target_lines``, as the trainer judged when it stopped.
    """
    steps = _count(meta.get("timesteps"))
    if steps >= total_timesteps:
        return finished_message(steps, total_timesteps)
    mean = meta.get("lines_mean")
    if (
        target_lines is not None
        and _count(meta.get("window_games")) >= WINDOW_GAMES
        and isinstance(mean, (int, float))
        and mean >= target_lines
    ):
        return (
            f"this run reached its target at {steps:,} timesteps: mean {mean:.2f} lines/game "
            f"over its last {WINDOW_GAMES} games >= {target_lines:g}; to train further, "
            "give a higher --target-lines (or none)"
        )
    return None


def _count(value: Any) -> int:
    """A count from meta.json; 0 when it is missing or not a number."""
    try:
        return max(0, int(value))
    except (TypeError, ValueError, OverflowError):
        return 0
