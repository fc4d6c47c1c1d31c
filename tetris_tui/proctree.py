"""The process table, read from /proc: who is alive, who is below whom, how big.

The session uses it to name every process a worker started; tests and
benchmarks use it to check from outside that nothing is left behind. Linux
only: elsewhere it finds nothing, which callers treat as "nothing running".
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import time
from collections.abc import Callable

PR_SET_NAME = 15
PR_SET_PDEATHSIG = 1


def stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state first, then ppid)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def pid_alive(pid: int) -> bool:
    """Running: a zombie counts as gone, for it runs nothing and holds no files.

    The one liveness check of the code base (atomic writes, trainer cards, tests).
    """
    fields = stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def start_ticks(pid: int) -> int | None:
    """When the process started, in clock ticks since boot; None if it is gone.

    With the pid, it names one process: a pid the system reused after a reboot
    (or in a new container) has another start time.
    """
    fields = stat_fields(pid)
    if fields is None or fields[0] == "Z":
        return None
    try:
        return int(fields[19])  # field 22 of /proc/<pid>/stat
    except (IndexError, ValueError):
        return None


def same_process(pid: int, started: int | None) -> bool:
    """``pid`` runs, and is the process that started at ``started`` (when known)."""
    now = start_ticks(pid)
    return now is not None and (not started or now == started)


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


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies, however it dies.

    For helpers of the trainer (the spectator, env shards): a SIGKILLed trainer
    runs no clean-up, and they must not outlive it.
    """
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def set_process_name(name: str) -> None:
    """The name ``ps`` and ``top`` show (15 bytes at most), so a helper says what it is."""
    _prctl(PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]))


def _prctl(option: int, value: object) -> None:
    """Linux's prctl(2); a no-op where there is none (not Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def process_name(pid: int) -> str:
    """What ``set_process_name`` set (the kernel's ``comm``); "" if the process is gone."""
    try:
        with open(f"/proc/{pid}/comm") as handle:
            return handle.read().strip()
    except OSError:
        return ""
