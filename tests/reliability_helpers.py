"""Helpers for the reliability tests: real processes, /proc, checkpoints on disk."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from tetris_tui.proctree import pid_alive

CLI = [sys.executable, "-m", "tetris_tui"]
# Small, fast PPO on the raw env: a headless run trains in seconds.
FAST = ["--env", "raw", "--n-steps", "128", "--batch-size", "64", "--n-envs", "1"]
FAST += ["--device", "cpu", "--seed", "1"]


def wait_gone(pids: Iterable[int], timeout: float) -> list[int]:
    """Wait for every pid to end; the ones still running at the deadline."""
    pids = list(pids)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in pids if pid_alive(p)]
        if not left:
            return []
        time.sleep(0.05)
    return [p for p in pids if pid_alive(p)]


def kill_all(pids: Iterable[int]) -> None:
    """Test clean-up: SIGKILL whatever a failed test left running (only these pids)."""
    for pid in pids:
        if pid_alive(pid):
            try:
                os.kill(pid, 9)
            except OSError:
                pass


# -- a headless run in a subprocess ------------------------------------------------------


class Headless:
    """``tetris-tui --headless`` in a subprocess, its output read by a thread."""

    def __init__(self, run: Path, *extra: str, env: dict[str, str] | None = None) -> None:
        args = [*CLI, "--headless", "--checkpoints", str(run), *FAST, *extra]
        self.process = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.pid = self.process.pid
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.stderr = ""

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, test: Callable[[str], bool], timeout: float = 60.0) -> str:
        """The first line (seen so far or coming) for which ``test`` holds."""
        for line in self.lines:
            if test(line):
                return line
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                break
            self.lines.append(line)
            if test(line):
                return line
        raise AssertionError(f"no such line within {timeout}s; output so far: {self.lines}")

    def finish(self, timeout: float = 60.0) -> int:
        """Wait for the exit; collects the rest of stdout and stderr."""
        rc = self.process.wait(timeout)
        self._reader.join(10)
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)
        assert self.process.stderr is not None
        self.stderr = self.process.stderr.read()
        return rc

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


# -- checkpoints on disk ------------------------------------------------------------------


def load_ppo(path: Path) -> Any:
    """PPO.load the model (in this process: torch is imported once per test run)."""
    from stable_baselines3 import PPO

    return PPO.load(path, device="cpu")


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def temp_files(run_dir: Path) -> list[Path]:
    return sorted(p for p in run_dir.rglob(".*.tmp") if p.is_file())


def history(run_dir: Path) -> list[dict[str, Any]]:
    """events.jsonl records (a torn last line, from a kill mid-write, is skipped)."""
    records = []
    path = run_dir / "events.jsonl"
    if not path.exists():
        return records
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


def last_status(run_dir: Path) -> str | None:
    states = [r["state"] for r in history(run_dir) if r.get("kind") == "status"]
    return states[-1] if states else None
