"""``tetris-tui tune --headless``: one line per trial event, until the study is done.

Events come from the difference between two snapshots of the study, so the
trials of other machines (a shared database) are reported alike. Signals are
only noted in the handler; stopping happens in the loop (as in headless.py).
"""

from __future__ import annotations

import signal
import sys
import time
from typing import Any, TextIO

from tetris_tui.tune.runner import BEST_LINK, Runner, Snapshot, TrialRow, close_quietly

POLL_S = 1.0


class TrialPrinter:
    """Lines for what changed since the last snapshot."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.known: dict[int, TrialRow] = {}
        self.best: int | None = None

    def update(self, shot: Snapshot) -> None:
        for row in shot.rows:
            old = self.known.get(row.number)
            self.known[row.number] = row
            if row.state == "WAITING" or (row.state == "RUNNING" and not row.params):
                self.known.pop(row.number)  # announced once its parameters are drawn
                continue
            if old is None:
                self._say(f"trial {row.number} running on {row.host or '?'}: {_params(row)}")
            seen = old.reports if old is not None else {}
            for step in sorted(set(row.reports) - set(seen)):
                self._say(
                    f"trial {row.number} eval at {step:,} steps: {row.reports[step]:.2f} lines/game"
                )
            if old is not None and old.state == row.state:
                continue
            if row.state == "COMPLETE":
                self._say(f"trial {row.number} complete: {row.value:.2f} lines/game")
            elif row.state == "PRUNED":
                last = max(row.reports) if row.reports else 0
                self._say(f"trial {row.number} pruned at {last:,} steps")
            elif row.state == "FAIL":
                self._say(f"trial {row.number} failed: {row.note or 'no reason given'}")
        if shot.best is not None and shot.best.number != self.best:
            self.best = shot.best.number
            self._say(f"best so far: trial {shot.best.number}, {shot.best.value:.2f} lines/game")

    def summary(self, shot: Snapshot, study_dir: Any) -> None:
        counts = {s: sum(r.state == s for r in shot.rows) for s in ("COMPLETE", "PRUNED", "FAIL")}
        text = (
            f"study: {counts['COMPLETE']} complete, {counts['PRUNED']} pruned, "
            f"{counts['FAIL']} failed"
        )
        if shot.best is not None:
            text += f"; best trial {shot.best.number}: {shot.best.value:.2f} lines/game"
            if (study_dir / BEST_LINK).exists():
                text += f" (play it: tetris-tui play {study_dir / BEST_LINK})"
        self._say(text)

    def _say(self, text: str) -> None:
        try:
            print(text, file=self.out, flush=True)
        except (OSError, ValueError):
            pass  # nobody reads any more; the study goes on


def _params(row: TrialRow) -> str:
    return " ".join(f"{k}={_short(v)}" for k, v in row.params.items()) or "(no parameters)"


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def run_lines(runner: Runner, out: TextIO | None = None) -> int:
    """Run the study to its end or a signal; exit 0 (1 when workers kept crashing)."""
    out = out or sys.stdout
    printer = TrialPrinter(out)
    seen: list[int] = []

    def on_signal(signum: int, _frame: Any) -> None:
        if signum not in seen:
            seen.append(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        runner.start()
        while True:
            if seen and not runner.stopping:
                printer._say(f"{signal.Signals(seen[0]).name}: stopping the workers (they save)…")
                runner.stop()
            printer.update(runner.poll())
            if runner.done:
                break
            time.sleep(POLL_S)
    finally:
        close_quietly(runner)
        shot = runner.poll()
        printer.update(shot)
        printer.summary(shot, runner.spec.dir)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 1 if runner.crashed else 0
