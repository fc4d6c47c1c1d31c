"""Where the study lives: a journal file in STUDY_DIR by default, or a database URL.

The default is Optuna's journal file, chosen by measurement (``python
bench/tune.py --storage``: K processes each ask, report 10 times and tell 25
trials). On this 2-core box, busy with other work, the journal did 5.0, 5.2
and 4.8 trials/s with 2, 4 and 8 workers; SQLite 1.0, 0.9 and 0.4 (5 to 12x
slower: every write takes SQLite's one database lock). Quieter, an earlier run
of the same loop: journal 50 / 35 / 19 trials/s, SQLite 4.1 / 6.3 / 2.1.
Neither lost a trial. Optuna warns against SQLite across
machines and on NFS, and the journal file too belongs on a local disk: for
many machines, give ``--storage postgresql://...``.

A database storage gets Optuna's heartbeat, so a trial whose worker vanished
(another machine, lost) turns FAIL after ``GRACE_S``. Trials of this machine
are also checked at once through their worker's lock (``liveness.py``), which
is how the journal, which has no heartbeat, learns of a dead worker. A worker
killed while it appends leaves the journal's lock file behind; Optuna breaks
such a lock after 30 s.
"""

from __future__ import annotations

import random
import re
import time
import warnings
from pathlib import Path
from typing import Any

JOURNAL_FILE = "study.journal"
HEARTBEAT_S = 10
GRACE_S = 60
SCHEMA_TRIES = 5
_SCHEMES = ("postgresql", "postgres", "mysql", "sqlite")


class StorageError(ValueError):
    """The storage cannot be used; the message is one line for the user."""


def check_url(url: str) -> None:
    """Refuse a URL Optuna cannot open before any process starts."""
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    if "://" not in url or scheme not in _SCHEMES:
        raise StorageError(
            f"--storage {redact(url)!r}: expected a database URL "
            "(postgresql://user@host/db, mysql://..., sqlite:///path)"
        )


def redact(url: str) -> str:
    """The URL without its password, for files and the screen."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def describe(url: str | None, study_dir: Path) -> str:
    """How a run records where its study lives."""
    if url is None:
        return f"journal:{(study_dir / JOURNAL_FILE).resolve()}"
    return redact(url)


def open_storage(url: str | None, study_dir: Path) -> Any:
    """An Optuna storage: the journal file in ``study_dir``, or the database at ``url``."""
    import optuna

    if url is None:
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        study_dir.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(study_dir / JOURNAL_FILE)))
    check_url(url)
    quiet()
    for attempt in range(SCHEMA_TRIES):
        try:
            return optuna.storages.RDBStorage(
                with_driver(url),
                heartbeat_interval=HEARTBEAT_S,
                grace_period=GRACE_S,
                engine_kwargs={"pool_pre_ping": True},
            )
        except Exception as exc:  # noqa: BLE001 - driver errors vary; the user needs one line
            # Machines that start at once on an empty database race to create its
            # tables (PostgreSQL: duplicate key in pg_type): the loser tries again.
            racing = any(word in str(exc) for word in ("duplicate key", "already exists"))
            if not racing or attempt == SCHEMA_TRIES - 1:
                raise StorageError(
                    f"cannot open --storage {redact(url)}: {_first_line(exc)}"
                ) from None
            time.sleep(0.5 + random.random())
    raise AssertionError("unreachable")


def with_driver(url: str) -> str:
    """``postgresql://`` with the driver that is installed.

    SQLAlchemy 2.1 reads a bare ``postgresql://`` as psycopg 3, 2.0 as psycopg2;
    the ``postgres`` extra installs psycopg2-binary, so a bare URL names the one
    present. ``postgres://`` (Heroku's spelling) is read as ``postgresql://``.
    """
    import importlib.util

    scheme, rest = url.split("://", 1)
    if scheme not in ("postgresql", "postgres"):
        return url
    for module, driver in (("psycopg", "psycopg"), ("psycopg2", "psycopg2")):
        if importlib.util.find_spec(module) is not None:
            return f"postgresql+{driver}://{rest}"
    return f"postgresql://{rest}"


def load_study(
    storage: Any, name: str, sampler: Any = None, pruner: Any = None, create: bool = False
) -> Any:
    """The study ``name`` (created on first use when ``create``), maximising lines/game."""
    import optuna

    quiet()
    try:
        if create:
            return optuna.create_study(
                study_name=name,
                storage=storage,
                sampler=sampler,
                pruner=pruner,
                direction="maximize",
                load_if_exists=True,
            )
        return optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
    except Exception as exc:  # noqa: BLE001 - a wrong URL, a down server, a missing study
        raise StorageError(f"study {name!r}: {_first_line(exc)}") from None


def make_sampler(kind: str, seed: int | None, salt: int) -> Any:
    """TPE (after a few random trials) or random; ``salt`` keeps workers apart.

    Two workers with one seed would draw the same points at the same moment, so
    each worker's seed is the study's seed plus its own salt.
    """
    import optuna

    worker_seed = None if seed is None else (seed * 1_000_003 + salt) % 2**32
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=worker_seed)
    return optuna.samplers.TPESampler(n_startup_trials=5, seed=worker_seed)


def make_pruner(kind: str, eval_every: int) -> Any:
    """Median (after 5 trials, past the first evaluation) or successive halving.

    Reports are keyed by timesteps; halving's rungs start at the first
    evaluation and grow 3x (rl-baselines3-zoo uses the same two pruners).
    """
    import optuna

    if kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=eval_every)
    if kind == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=eval_every, reduction_factor=3)
    return optuna.pruners.NopPruner()


def quiet() -> None:
    """Optuna logs each trial to stderr; our lines (or screen) say it instead."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    # We ask and tell ourselves (not Study.optimize), and beat the heart ourselves.
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
