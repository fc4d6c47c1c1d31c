"""One trainer per run directory: advisory locks held while a worker runs.

Two apps training into the same checkpoints would overwrite each other's
files; the second one is refused with the first one's pid instead.

Two locks: the app (or headless process) holds ``.lock`` from start to end of a
worker, and the worker holds ``.worker.lock`` itself. The second one matters
when the app dies first (SIGKILL): its lock goes with it, but its worker goes
on saving ``latest`` for a moment, and a new app must not write beside it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_FILE = ".lock"
WORKER_LOCK_FILE = ".worker.lock"


class RunLockedError(Exception):
    """Another process trains in this run directory; the message names it."""


class RunLock:
    """``flock`` on ``<run>/.lock``; the kernel frees it if the holder dies.

    Taking the app lock also checks that no worker of an earlier app is still
    running there (the worker lock is only probed, not kept).
    """

    def __init__(self, run_dir: Path, name: str = LOCK_FILE) -> None:
        self.path = run_dir / name
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = _lock(self.path)
        if self.path.name == LOCK_FILE:
            try:
                os.close(_lock(self.path.with_name(WORKER_LOCK_FILE), write_pid=False))
            except BaseException:
                os.close(fd)
                raise
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None


def _lock(path: Path, write_pid: bool = True) -> int:
    """Open and ``flock`` ``path``; RunLockedError naming the holder's pid if taken."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        if path.name == WORKER_LOCK_FILE:
            raise RunLockedError(
                f"a trainer is running in {path.parent} (pid {holder}): watch it with "
                f"`tetris-tui attach --checkpoints {path.parent}`, or stop it first"
            ) from None
        raise RunLockedError(
            f"{path.parent} is in use by another tetris-tui (pid {holder}); "
            "stop it or use another --checkpoints directory"
        ) from None
    if write_pid:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd
