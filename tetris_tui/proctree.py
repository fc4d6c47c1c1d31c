"""The process table, read from /proc: who is alive, who is below whom, how big.

The session uses it to name every process a worker started; tests and
benchmarks use it to check from outside that nothing is left behind. Linux
only: elsewhere it finds nothing, which callers treat as "nothing running".
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable


def stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state first, then ppid)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def pid_alive(pid: int) -> bool:
    """Running: a zombie counts as gone, for it runs nothing and holds no files."""
    fields = stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def descendants(pid: int, keep: Callable[[int], bool] = lambda _: True) -> list[int]:
    """Every live process below ``pid``, from one pass over /proc.

    ``keep`` prunes a child and its whole subtree (e.g. a helper that is not ours).
    """
    tree = _live_children()
    found, stack = [], [pid]
    while stack:
        for child in tree.get(stack.pop(), []):
            if keep(child):
                found.append(child)
                stack.append(child)
    return found


def children(pid: int) -> list[int]:
    """The live processes whose parent is ``pid``."""
    return _live_children().get(pid, [])


def _live_children() -> dict[int, list[int]]:
    """Parent pid -> its live (non-zombie) children."""
    tree: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return tree
    for entry in entries:
        if entry.isdigit():
            fields = stat_fields(int(entry))
            if fields is not None and fields[0] != "Z":
                tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of a process, all its threads; None if it is gone."""
    fields = stat_fields(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def rss_mb(pid: int) -> float | None:
    """Resident memory in MiB, from /proc/<pid>/status; None if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def find_worker(parent: int, timeout: float = 30.0) -> int:
    """The spawned worker below ``parent`` (not multiprocessing's resource tracker)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in children(parent):
            line = cmdline(child)
            if "spawn_main" in line and "resource_tracker" not in line:
                return child
        time.sleep(0.05)
    raise AssertionError(f"no worker process appeared below pid {parent}")
