"""What every worker process does first: leave the terminal, log to a file, watch the UI.

Shared by the training worker and the play worker. The rule it enforces: a
worker never writes to the terminal, and never outlives the UI by more than
the time it takes to save.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

LOG_FILE = "worker.log"


def prepare_worker_process(
    run_dir: Path, stop_flag: Any, outlive_parent: bool = False
) -> tuple[threading.Event, str]:
    """Detach, redirect output to ``<run>/worker.log`` and arm the stop triggers.

    ``outlive_parent``: a trainer goes on when the app that spawned it is gone
    (hang-up, kill, detach); viewers attach to it later. A play worker stops.
    Returns the event set when the parent process dies, and a problem with the
    log file to tell the user about ("" when there is none).
    """
    detach_from_terminal()
    log_problem = redirect_output(run_dir / LOG_FILE)
    ui_gone = threading.Event()
    watch_parent(ui_gone, None if outlive_parent else stop_flag)
    install_signal_handlers(stop_flag)
    return ui_gone, log_problem


def detach_from_terminal() -> None:
    """Own session: Ctrl+C and hang-ups reach the parent, which stops us cleanly."""
    with contextlib.suppress(OSError):
        os.setsid()


def redirect_output(log_path: Path) -> str:
    """Send fds 1 and 2 (ours and every library's) to the log file, never the terminal."""
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        problem = ""
    except OSError as exc:
        fd = os.open(os.devnull, os.O_WRONLY)
        problem = f"cannot write {log_path} ({exc.strerror}); worker output is discarded"
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    with contextlib.suppress(OSError):  # nor read from it: a trainer outlives its terminal
        stdin = os.open(os.devnull, os.O_RDONLY)
        os.dup2(stdin, 0)
        os.close(stdin)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    return problem


def watch_parent(ui_gone: threading.Event, stop_flag: Any | None) -> None:
    """When the parent dies (kill, hang-up, detach), stop sending it events; and when
    a ``stop_flag`` is given, save and exit on our own."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def wait() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        ui_gone.set()
        if stop_flag is not None:
            stop_flag.set()

    threading.Thread(target=wait, name="parent-watchdog", daemon=True).start()


def install_signal_handlers(stop_flag: Any) -> None:
    """SIGTERM and SIGINT (sent to the worker itself) stop it with a save. A hang-up
    never reaches it through the terminal (own session); sent directly it is ignored:
    a trainer outlives terminals.

    The handler takes no lock: ``stop_flag`` (a multiprocessing Event) is set by a
    thread that the signal wakes (``StopSignals``), never inside the handler.
    """
    from tetris_tui.worker.stop_signals import StopSignals

    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    StopSignals((signal.SIGTERM, signal.SIGINT)).relay_to(stop_flag)


# Once a worker has said how it ended, the longest its clean-up may take.
EXIT_SECONDS = 10.0


def exit_within(seconds: float) -> None:
    """End this process after ``seconds`` if it has not ended by then.

    The last safety net of a bounded stop: after the last save and status, the
    clean-up (a reader that does not read, a viewer, a child, multiprocessing's
    joins at exit) must not keep the process, and the run's lock, alive.
    """

    def expire() -> None:
        time.sleep(seconds)
        with contextlib.suppress(Exception):
            print(f"clean-up took over {seconds:g}s: exiting now", file=sys.stderr, flush=True)
        os._exit(0)

    threading.Thread(target=expire, name="exit-deadline", daemon=True).start()


def exit_process(code: int = 0) -> None:
    """End the worker now, without the interpreter's teardown.

    Freeing torch's objects one by one took 5-6 s after the last save on a busy
    2-core machine (load 12); a stop must be bounded in time. What must happen at
    exit still does: the atexit handlers (multiprocessing's joins and clean-ups)
    and flushed logs.
    """
    with contextlib.suppress(Exception):
        atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def announce(events: Any, role: str) -> None:
    """Put the worker's ``Hello`` first on the events queue: its protocol version.

    A client that speaks another version then says so in one line instead of
    misreading what follows.
    """
    from tetris_tui import faults
    from tetris_tui.protocol import PROTOCOL_VERSION, Hello

    hello = Hello(faults.protocol_version(PROTOCOL_VERSION), os.getpid(), role)
    with contextlib.suppress(Exception):
        events.put(hello, timeout=5)


def start_quiet_resource_tracker() -> None:
    """Start multiprocessing's resource tracker now, with stdin/out/err on /dev/null.

    It is started on first need and inherits fds 0-2 of that moment; it lives as
    long as any worker does. Started from a terminal, it would hold the terminal
    (and a pipe reading a detached trainer's output) open for the trainer's whole
    life, and could write to it. Call before any UI owns the terminal.
    """
    from multiprocessing import resource_tracker

    saved = [os.dup(fd) for fd in (0, 1, 2)]
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        resource_tracker.ensure_running()
    finally:
        for fd, copy in zip((0, 1, 2), saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)
