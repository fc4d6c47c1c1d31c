"""Killing ``bench/ui.py`` leaves nothing behind: no trainer frozen by its SIGSTOP slices."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from reliability_helpers import kill_all, wait_gone

from tetris_tui.proctree import descendants

BENCH = Path(__file__).resolve().parents[1] / "bench" / "ui.py"


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_killed_bench_leaves_no_frozen_trainer(tmp_path, signum):
    args = ["--control", "--n-envs", "1", "--warmup", "1", "--rounds", "20", "--slice", "0.3"]
    bench = subprocess.Popen(
        [sys.executable, str(BENCH), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    seen: set[int] = set()
    try:
        deadline = time.monotonic() + 240
        frozen: list[int] = []
        while not frozen and time.monotonic() < deadline and bench.poll() is None:
            tree = descendants(bench.pid)
            seen.update(tree)
            frozen = [pid for pid in tree if _state(pid) == "T"]
            time.sleep(0.05)
        assert frozen, "the bench never froze a trainer"
        bench.send_signal(signum)
        bench.communicate(timeout=120)
        left = wait_gone(seen, 30)
        assert left == [], f"left behind: {[(pid, _state(pid)) for pid in left]}"
    finally:
        if bench.poll() is None:
            bench.kill()
        for pid in seen:
            try:
                os.kill(pid, signal.SIGCONT)
            except OSError:
                pass
        kill_all(seen)
