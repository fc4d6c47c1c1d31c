"""What a killed bench must not leave behind: the trainers it froze, its tmux servers.

``bench/ui.py`` freezes trainers (SIGSTOP slices) and runs apps in private tmux
servers. Killed (Ctrl+C, SIGTERM, a hang-up), it continues the trainers it
froze so that each side's stop can finish, and at exit kills whatever
trainer, spectator or tmux server is left: never a stopped trainer behind.
Only SIGKILL skips that (``tests/test_bench_cleanup.py`` kills it both ways).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess

import slices
from tmux_app import TMUX_SOCKETS

from tetris_tui.proctree import cmdline, descendants, pid_alive

# The trainers this bench started or froze (each with its spectator).
TRAINERS: set[int] = set()
_signal_tree = slices.signal_tree


def track(pid: int) -> None:
    """A trainer this bench is responsible for."""
    TRAINERS.add(pid)


def _tracked_signal_tree(pid: int, signum: int) -> None:
    """slices' ``signal_tree``, noting each trainer it stops (a set add: no cost in a slice)."""
    TRAINERS.add(pid)
    _signal_tree(pid, signum)


def _on_exit_signal(signum: int, _frame: object) -> None:
    """Continue the frozen trainers (so each side's stop can finish), then unwind.

    Only ``os.kill`` here (a system call, no lock); the rest runs in the
    ``finally`` blocks and ``release`` as the exception unwinds.
    """
    for other in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(other, signal.SIG_IGN)  # a second one must not cut the clean-up short
    for pid in tuple(TRAINERS):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGCONT)
    raise SystemExit(128 + signum)


def release() -> None:
    """At exit: kill every trainer tree this bench started that still runs, and its tmux."""
    for socket in tuple(TMUX_SOCKETS):
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
    for root in tuple(TRAINERS):
        if not pid_alive(root) or "multiprocessing" not in cmdline(root):
            continue  # ended (its pid may be another process's by now)
        for pid in (root, *descendants(root)):
            for signum in (signal.SIGCONT, signal.SIGKILL):
                with contextlib.suppress(OSError):
                    os.kill(pid, signum)


def install() -> None:
    """Track what the slices freeze, and clean up at exit and on a killing signal."""
    slices.signal_tree = _tracked_signal_tree
    atexit.register(release)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _on_exit_signal)
