"""Training never waits for a reader: two real readers stall for five minutes at once.

(a) the app (a real spawning process, ``spawn_probe.py``) stopped with SIGSTOP,
as Ctrl+Z stops it; (b) ``tetris-tui --headless`` writing into a pipe nobody
reads, as ``| less`` left unscrolled. Before the fix, the trainer waited for
room in the events queue and stopped training within a minute. Now training
goes on throughout, the trainer's memory stays flat, and each reader, once it
reads again, gets every game exactly once (read back from events.jsonl).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest
from reliability_helpers import CLI, history, kill_all, wait_gone

from tetris_tui.proctree import descendants, rss_mb
from tetris_tui.runs.runlog import recent_games
from tetris_tui.runs.trainers import live_trainer

STALL_SECONDS = 300
SAMPLE_SECONDS = 30
STEP_DELAY = "0.02"  # ~400 steps/s each: two trainers for 5 minutes on a shared machine
# The outbox overflows after a few seconds of stall (the queue in front holds 256 items).
FAULTS = {"TETRIS_TUI_FAULT": "outbox-limit:50"}
F_SETPIPE_SZ = 1031  # linux/fcntl.h: a one-page pipe fills in seconds, not minutes
HEADLESS = ["--headless", "--n-envs", "8", "--batch-size", "128", "--step-delay", STEP_DELAY]
HEADLESS += ["--total-timesteps", "1000000000", "--seed", "1", "--device", "cpu"]


def _last_timesteps(run: Path) -> int:
    games = recent_games(run, 1).games
    return games[-1].timesteps if games else 0


def _recorded_games(run: Path) -> list[int]:
    return [r["episode"] for r in history(run) if r.get("kind") == "episode"]


def _unread_bytes(fd: int) -> int:
    size = bytearray(4)
    fcntl.ioctl(fd, termios.FIONREAD, size)
    return int.from_bytes(size, sys.byteorder)


def _printed_games(lines: list[str]) -> list[int]:
    """The game numbers headless printed: one a line, or ranges with their count."""
    numbers: list[int] = []
    for line in lines:
        if single := re.match(r"game #(\d+):", line):
            numbers.append(int(single.group(1)))
        elif batch := re.match(r"games #(\d+)-#(\d+) \((\d+)\):", line):
            first, last, count = (int(x) for x in batch.groups())
            assert count == last - first + 1, f"a hole inside a batch: {line}"
            numbers += range(first, last + 1)
    return numbers


def _wait_until(test, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if test():
            return
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


@pytest.mark.slow
def test_a_stopped_app_and_an_unread_pipe_never_stall_training(tmp_path):
    env = {**os.environ, **FAULTS, "PYTHONPATH": os.pathsep.join(sys.path)}
    app_run, pipe_run = tmp_path / "app", tmp_path / "pipe"
    app = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("spawn_probe.py")), str(app_run), STEP_DELAY],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    headless = subprocess.Popen(
        [*CLI, *HEADLESS, "--checkpoints", str(pipe_run)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert app.stdout is not None and headless.stdout is not None
    fcntl.fcntl(headless.stdout.fileno(), F_SETPIPE_SZ, 4096)
    pids: list[int] = []
    try:
        app_trainer = int(app.stdout.readline().split()[1])  # "pid N" once it trains
        _wait_until(lambda: live_trainer(pipe_run) is not None, 240, "the headless trainer")
        pipe_trainer = live_trainer(pipe_run).pid  # type: ignore[union-attr]
        pids = [app.pid, headless.pid, *descendants(app.pid), *descendants(headless.pid)]

        # The stall: the app stopped, the pipe never read.
        os.kill(app.pid, signal.SIGSTOP)
        samples: dict[str, list[tuple[float, int, float]]] = {"app": [], "pipe": []}
        pipe_full = False
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < STALL_SECONDS:
            for name, run, pid in (("app", app_run, app_trainer), ("pipe", pipe_run, pipe_trainer)):
                samples[name].append((elapsed, _last_timesteps(run), rss_mb(pid) or 0.0))
            pipe_full = pipe_full or _unread_bytes(headless.stdout.fileno()) >= 3500
            time.sleep(SAMPLE_SECONDS)
        behind = {  # the trainer's word that its reader fell behind (worker.log)
            name: "the app stopped reading" in (run / "worker.log").read_text(errors="replace")
            for name, run in (("app", app_run), ("pipe", pipe_run))
        }

        # Reading again: the app resumes, the pipe is read.
        os.kill(app.pid, signal.SIGCONT)
        printed: list[str] = []
        reader = threading.Thread(target=lambda: printed.extend(headless.stdout), daemon=True)
        reader.start()
        time.sleep(20)
        app.send_signal(signal.SIGTERM)  # the probe stops its trainer and says what it got
        headless.send_signal(signal.SIGINT)
        out, _ = app.communicate(timeout=120)
        assert headless.wait(120) == 0
        reader.join(30)
    finally:
        if app.poll() is None:
            os.kill(app.pid, signal.SIGCONT)
        for process in (app, headless):
            if process.poll() is None:
                process.kill()
        kill_all(pids)
    assert wait_gone(pids, 30) == []

    for name, points in samples.items():
        print(name, [(round(t), steps, round(rss)) for t, steps, rss in points])
        steps = [s for _, s, _ in points]
        assert all(b > a for a, b in zip(steps, steps[1:], strict=False)), f"{name}: stalled"
        warm = min(rss for t, _, rss in points if t >= 60)
        assert max(rss for t, _, rss in points if t >= 60) - warm < 64, f"{name}: RSS grew"

    assert behind == {"app": True, "pipe": True}, "a reader never fell behind: no stall"
    assert pipe_full, "the pipe never filled: headless was not stalled"
    got = json.loads(out.strip().splitlines()[-1])
    assert got["resyncs"] >= 1 and got["state"] == "stopped"
    assert got["games"] == _recorded_games(app_run), "the app missed or repeated games"
    numbers = _printed_games([line.rstrip("\n") for line in printed])
    recorded = _recorded_games(pipe_run)
    print(f"games: app {len(got['games'])} ({got['resyncs']} resyncs), headless {len(numbers)}")
    assert numbers == recorded, "headless missed or repeated games"
    assert len(recorded) > 100
