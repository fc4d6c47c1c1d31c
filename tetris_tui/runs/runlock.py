"""One trainer per run directory: advisory locks held while a worker runs.

Two apps training into the same checkpoints would overwrite each other's
files; the second one is refused with the first one's pid instead.

Two locks: the app (or headless process) holds ``.lock`` from start to end of a
worker, and the worker holds ``.worker.lock`` itself. The second one matters
when the app dies first (SIGKILL): its lock goes with it, but its worker goes
on saving ``latest`` for a moment, and a new app must not write beside it.

The worker lock is also how others learn that a trainer lives: ``probe`` asks
the kernel, which frees the lock when its holder dies, however it dies; a pid
in a file may have been reused. Lock files are 0600: anyone who could open one
could ``flock`` it and block training.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

LOCK_FILE = ".lock"
WORKER_LOCK_FILE = ".worker.lock"
# A probe holds a lock for microseconds; taking it waits this long for one to end.
PROBE_GRACE = 0.5


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


def probe(run_dir: Path) -> bool | None:
    """Whether a trainer holds ``run_dir``'s worker lock now; None when we cannot tell
    (the file is another user's). Never blocks, and never creates the file."""
    try:
        fd = os.open(run_dir / WORKER_LOCK_FILE, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return None
    finally:
        os.close(fd)  # frees our shared lock, if we took it
    return False


def holder_pid(run_dir: Path) -> int | None:
    """The pid the worker lock's holder wrote into it (read only while it is held)."""
    try:
        text = (run_dir / WORKER_LOCK_FILE).read_text()
        return int(text.strip())
    except (OSError, ValueError):
        return None


def _lock(path: Path, write_pid: bool = True) -> int:
    """Open and ``flock`` ``path``; RunLockedError naming the holder's pid if taken."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        _check_own(fd, path)
        _flock_waiting_out_probes(fd)
    except RunLockedError:
        os.close(fd)
        raise
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


def _check_own(fd: int, path: Path) -> None:
    """A lock file is ours and owner-only (one made before 0600 is fixed here)."""
    info = os.fstat(fd)
    if info.st_uid != os.getuid():
        raise RunLockedError(
            f"{path} belongs to another user (uid {info.st_uid}): refusing it; remove it"
        )
    if info.st_mode & 0o077:
        os.fchmod(fd, 0o600)


def _flock_waiting_out_probes(fd: int) -> None:
    """``flock`` without blocking, but retry for ``PROBE_GRACE``: a ``probe`` (``ls``,
    ``attach``) holds a shared lock for an instant and must not refuse a trainer."""
    deadline = time.monotonic() + PROBE_GRACE
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.01)
