"""The /proc reader that tells what is still running."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tetris_tui.proctree import children, cmdline, cpu_seconds, descendants, pid_alive, rss_mb

# A child that starts a grandchild and never waits for it, then sleeps.
PARENT_CODE = (
    "import subprocess, sys, time; "
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
    "time.sleep(60)"
)


def _wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_sees_a_process_tree_and_each_part_of_its_end():
    child = subprocess.Popen([sys.executable, "-c", PARENT_CODE])
    try:
        _wait_for(lambda: len(descendants(child.pid)) == 1)
        grandchild = descendants(child.pid)[0]
        assert child.pid in children(os.getpid())
        assert grandchild not in children(os.getpid())
        assert {child.pid, grandchild} <= set(descendants(os.getpid()))
        pruned = descendants(os.getpid(), keep=lambda pid: pid != child.pid)
        assert child.pid not in pruned and grandchild not in pruned
        assert pid_alive(grandchild) and "time.sleep(60)" in cmdline(grandchild)
        assert (rss_mb(child.pid) or 0.0) > 1.0
        assert (cpu_seconds(os.getpid()) or 0.0) > 0.0

        os.kill(grandchild, 9)  # nobody reaps it: a zombie, which counts as gone
        _wait_for(lambda: not pid_alive(grandchild))
        assert descendants(child.pid) == []
    finally:
        child.kill()
        child.wait()
    assert not pid_alive(child.pid)
    assert rss_mb(child.pid) is None and cmdline(child.pid) == ""
    assert cpu_seconds(child.pid) is None
