"""``tetris-tui --headless``: the same worker and session, printing progress lines.

SIGINT and SIGTERM ask the worker to save ``latest`` and exit; a second Ctrl+C
while stopping is ignored so the save is never cut short. A hang-up (SIGHUP)
leaves the trainer running, detached: ``tetris-tui attach`` and ``ls`` find it.
The signal handler only notes the signal: printing and asking the worker to
stop happen in the main loop (a print or a queue put inside a handler can
re-enter one that the signal interrupted). Once the terminal is gone, writes to
it fail (EIO): printing then stops quietly.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from tetris_tui.config import Config
from tetris_tui.protocol import (
    CRASHED,
    TERMINAL_STATES,
    Checkpoint,
    Episode,
    Error,
    Evaluation,
    Event,
    Info,
    Metrics,
    Status,
    Warning,
)
from tetris_tui.runs.finished import run_finished
from tetris_tui.session.spawned import RunLockedError, TrainingSession
from tetris_tui.worker.process_setup import LOG_FILE

POLL_SECONDS = 0.05
# More games than this per second are summarised in one line.
GAMES_PER_LINE = 5


class ProgressPrinter:
    """Short human lines: at most one metrics line a second, games batched."""

    def __init__(self, out: TextIO, log_path: Path | None = None) -> None:
        self.out = out
        self.log_path = log_path
        # Set once the output is gone (terminal hung up, pipe closed).
        self.broken = False
        self._next_metrics = 0.0
        self._games: list[Episode] = []
        self._next_games = 0.0

    def handle(self, event: Event, now: float) -> None:
        if isinstance(event, Metrics):
            if now >= self._next_metrics:
                self._next_metrics = now + 1.0
                self._print(_metrics_line(event))
        elif isinstance(event, Episode):
            self._games.append(event)
        elif isinstance(event, Status):
            self.flush_games(now, force=True)
            detail = event.message or _steps(event.timesteps)
            self._print(f"[{event.state}] {detail}".rstrip())
        elif isinstance(event, Checkpoint):
            mean = ""
            if event.which == "best" and event.lines_mean is not None:
                mean = f" (new best: mean {event.lines_mean:.2f} lines/game)"
            self._print(
                f"saved {event.which}{mean} -> {event.path} at {event.timesteps:,} timesteps"
            )
        elif isinstance(event, Evaluation):
            self._print(
                f"eval at {event.timesteps:,}: {event.games} greedy games, "
                f"mean {event.lines_mean:.1f} lines, max {event.lines_max:.0f}"
            )
        elif isinstance(event, (Info, Warning)):
            prefix = "warning: " if isinstance(event, Warning) else ""
            self._print(prefix + event.text)
        elif isinstance(event, Error):
            where = f" (traceback in {self.log_path})" if self.log_path else ""
            self._print(f"error: {event.message}{where}")

    def flush_games(self, now: float, force: bool = False) -> None:
        if not self._games or (now < self._next_games and not force):
            return
        games, self._games = self._games, []
        self._next_games = now + 1.0
        if len(games) <= GAMES_PER_LINE:
            for game in games:
                self._print(
                    f"game #{game.episode}: lines {game.lines}  reward {game.reward:.1f}  "
                    f"pieces {game.pieces}"
                )
            return
        lines = [g.lines for g in games]
        self._print(
            f"games #{games[0].episode}-#{games[-1].episode} ({len(games)}): "
            f"mean lines {sum(lines) / len(lines):.2f}  max {max(lines)}"
        )

    def say(self, text: str) -> None:
        """One line of our own (not from an event)."""
        self._print(text)

    def _print(self, text: str) -> None:
        if self.broken:
            return
        try:
            print(text, file=self.out, flush=True)
        except (OSError, ValueError):
            self.broken = True  # nobody is reading any more; training still ends cleanly


def _metrics_line(event: Metrics) -> str:
    parts = [
        f"{event.timesteps:>10,} steps",
        f"{event.steps_per_sec:>7,.0f} steps/s",
        f"games {event.episodes}",
    ]
    if event.elapsed_s > 0:
        # Below ~100% the worker does not get a whole core: something else is busy.
        parts.append(f"cpu {100 * event.cpu_s / event.elapsed_s:.0f}%")
    if event.lines_mean is not None:
        parts.append(f"lines/game mean(100) {event.lines_mean:.2f} max {event.lines_max:.0f}")
    return "  ".join(parts)


def _steps(timesteps: int) -> str:
    return f"at {timesteps:,} timesteps" if timesteps else ""


def _start(config: Config, out: TextIO) -> TrainingSession | int:
    """A started trainer, or the exit code when there is nothing to start.

    A finished run is left untouched (one line, exit 0); a run directory in use
    is one line on stderr and exit 2.
    """
    finished = run_finished(config.run_dir, config.total_timesteps, config.target_lines)
    if finished is not None:
        print(finished, file=out, flush=True)
        return 0
    session = TrainingSession()
    try:
        session.start(config)
    except RunLockedError as exc:
        print(f"tetris-tui: error: {exc}", file=sys.stderr)
        return 2
    return session


def run_headless(config: Config, out: TextIO | None = None) -> int:
    """Train to the end (or a signal); exit 0 when stopped or finished, 1 on a crash."""
    out = out or sys.stdout
    session = _start(config, out)
    if isinstance(session, int):
        return session
    printer = ProgressPrinter(out, config.run_dir / LOG_FILE)
    signals_seen: list[int] = []  # appended by the handler, read by the loop
    stopping = False

    def on_signal(signum: int, _frame: Any) -> None:
        if signum not in signals_seen:
            signals_seen.append(signum)

    previous = {
        s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    final_state = None
    try:
        while True:
            if signal.SIGHUP in signals_seen and not stopping:
                # The terminal is gone: the trainer goes on without it (`tetris-tui ls`).
                session.detach()
                return 0
            if signals_seen and not stopping:
                stopping = True
                printer.say(f"{signal.Signals(signals_seen[0]).name}: saving and stopping…")
                session.request_stop()
            now = time.monotonic()
            for event in session.drain(max_items=1000):
                printer.handle(event, now)
                if isinstance(event, Status) and event.state in TERMINAL_STATES:
                    final_state = event.state
            printer.flush_games(now)
            if final_state is not None and not session.alive:
                break
            time.sleep(POLL_SECONDS)
    finally:
        session.stop(timeout=30.0)
        for event in session.drain(max_items=10_000):
            printer.handle(event, time.monotonic())
        printer.flush_games(time.monotonic(), force=True)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 1 if final_state == CRASHED else 0


def run_detached(config: Config, out: TextIO | None = None, timeout: float = 180.0) -> int:
    """Start a trainer in the background, wait until it trains, say where, and return.

    It keeps training after this process exits; ``tetris-tui attach`` watches it
    and ``tetris-tui ls`` lists it. A failure to start is reported here, not lost.
    """
    out = out or sys.stdout
    session = _start(config, out)
    if isinstance(session, int):
        return session
    printer = ProgressPrinter(out, config.run_dir / LOG_FILE)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in session.drain(max_items=1000):
            if isinstance(event, (Error, Warning)):
                printer.handle(event, time.monotonic())
            if isinstance(event, Status) and event.state in TERMINAL_STATES:
                printer.handle(event, time.monotonic())
                session.stop(timeout=30.0)
                return 1 if event.state == CRASHED else 0
        if session.state in ("running", "paused"):
            break
        time.sleep(POLL_SECONDS)
    pid = session.pid
    session.detach()
    run_dir = config.run_dir.resolve()
    printer.say(f"training in the background: run {run_dir}, pid {pid}")
    printer.say(f"watch it: tetris-tui attach --checkpoints {run_dir}   list: tetris-tui ls")
    return 0
