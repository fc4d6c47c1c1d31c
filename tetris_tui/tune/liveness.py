"""A trial whose worker died turns FAIL: never RUNNING forever.

Each worker process holds an ``flock`` on its own file under
``STUDY_DIR/.workers/`` for its whole life and names that file in every trial
it runs (user attribute ``worker_lock``). The kernel frees the lock however the
worker dies, SIGKILL included, so anyone on this machine can tell a dead
worker's trial at once by taking the lock: no pid that the system may reuse,
no clock. The journal storage has no heartbeat, so this check is how it learns;
on a database Optuna's heartbeat covers the trials of other machines too.

A new lock file per process (never per slot): a replacement worker must not
make its predecessor's trial look alive.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
import uuid
from pathlib import Path
from typing import Any

WORKERS_DIR = ".workers"
ASK_LOCK = ".ask.lock"
# A trial asked for but not yet tagged with its worker's lock (a worker that
# died in that instant) is failed after this long.
UNTAGGED_GRACE_S = 60.0


def hostname() -> str:
    return socket.gethostname()


class WorkerLock:
    """This worker's life, as a lock the kernel frees when it dies."""

    def __init__(self, study_dir: Path) -> None:
        directory = study_dir / WORKERS_DIR
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{os.getpid()}-{uuid.uuid4().hex[:8]}.lock"
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.pwrite(self._fd, str(os.getpid()).encode(), 0)

    def release(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()
        with contextlib.suppress(OSError):
            os.close(self._fd)


def lock_is_free(path: Path) -> bool:
    """Whether nobody holds ``path``'s lock (a missing file: nobody)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return True
    except OSError:
        return False  # not ours to judge
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


@contextlib.contextmanager
def ask_lock(study_dir: Path) -> Any:
    """One worker of this machine at a time counts the study and asks for a trial,
    so ``--max-trials`` is never overshot from one machine."""
    fd = os.open(study_dir / ASK_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def fail_dead_trials(study: Any, study_dir: Path, now: float | None = None) -> list[int]:
    """FAIL the RUNNING trials of this machine's ``study_dir`` whose worker is gone.

    Also asks Optuna to fail trials whose heartbeat stopped (database storages).
    Returns the numbers of the trials failed here.
    """
    import optuna
    from optuna.trial import TrialState

    now = time.time() if now is None else now
    mine = str(study_dir.resolve())
    host = hostname()
    failed = []
    storage = study._storage  # noqa: SLF001 - the public API has no "fail this trial"
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        attrs = trial.user_attrs
        if attrs.get("study_dir") != mine or attrs.get("host") != host:
            continue
        lock = attrs.get("worker_lock")
        if lock is None:
            started = trial.datetime_start.timestamp() if trial.datetime_start else now
            dead = now - started > UNTAGGED_GRACE_S
        else:
            dead = lock_is_free(Path(lock))
        if not dead:
            continue
        with contextlib.suppress(Exception):  # another checker may have won the race
            storage.set_trial_user_attr(trial._trial_id, "fail_reason", "its worker died")  # noqa: SLF001
            if storage.set_trial_state_values(trial._trial_id, TrialState.FAIL):  # noqa: SLF001
                failed.append(trial.number)
    with contextlib.suppress(Exception):  # a no-op without a heartbeat (the journal)
        optuna.storages.fail_stale_trials(study)
    return failed
