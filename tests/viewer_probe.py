"""A viewer in its own process, for tests that freeze it (SIGSTOP): prints each game
number it is given, one a line, until the trainer ends or ``seconds`` pass."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tetris_tui.protocol import Episode
from tetris_tui.runs.runlog import recent_games
from tetris_tui.session.attached import AttachedSession


def main(run_dir: str, seconds: str) -> None:
    session = AttachedSession(Path(run_dir), read_only=True)
    session.attach()
    shown = recent_games(Path(run_dir), 1)  # as the app does: history first, then live
    session.shown_history_through(shown.last_number)
    print(f"history {shown.last_number}", flush=True)
    deadline = time.monotonic() + float(seconds)
    while time.monotonic() < deadline and session.alive:
        for event in session.drain(max_items=100_000):
            if isinstance(event, Episode):
                print(event.episode, flush=True)
        time.sleep(0.05)
    print(f"resyncs {session.resyncs}", flush=True)
    session.detach()


if __name__ == "__main__":
    main(*sys.argv[1:])
