"""A tune worker process: ask Optuna for a trial, run it, tell the result, repeat.

``python -m tetris_tui.tune.worker SPEC_JSON SLOT [TRIALS]``; the runner starts
K of them. SIGTERM (the runner's Ctrl+C) stops the trial's trainer with a save
and marks the trial FAIL with ``interrupted``: the next run of the same
command enqueues its parameters again and resumes its ``latest``. Exit codes:
0 the budget is spent, 3 interrupted, 1 something broke (the runner restarts us).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import traceback
import zlib
from typing import Any

from tetris_tui.tune import liveness
from tetris_tui.tune.objective import (
    TrialFailed,
    TrialInterrupted,
    run_trial,
    trial_dir,
)
from tetris_tui.tune.space import Param, feasible, suggest
from tetris_tui.tune.spec import TuneSpec
from tetris_tui.tune.storage import describe, load_study, make_pruner, make_sampler, open_storage

EXIT_DONE = 0
EXIT_INTERRUPTED = 3
COUNTED = ("COMPLETE", "PRUNED", "RUNNING")


def main(argv: list[str]) -> int:
    spec = TuneSpec.from_json(argv[0])
    slot = int(argv[1])
    trials = int(argv[2]) if len(argv) > 2 else spec.trials_per_worker
    stop = StopFlag()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop.on_signal)
    lock = liveness.WorkerLock(spec.dir)
    try:
        return Worker(spec, slot, lock, stop).loop(trials)
    except Exception:  # noqa: BLE001 - the runner reads the log and restarts us
        traceback.print_exc()
        return 1
    finally:
        lock.release()


class StopFlag:
    """Set by a signal handler, which must take no lock (an Event's set() does)."""

    def __init__(self) -> None:
        self._signals: list[int] = []

    def on_signal(self, signum: int, _frame: Any) -> None:
        self._signals.append(signum)

    def is_set(self) -> bool:
        return bool(self._signals)


class Worker:
    def __init__(
        self, spec: TuneSpec, slot: int, lock: liveness.WorkerLock, stop: StopFlag
    ) -> None:
        self.spec = spec
        self.slot = slot
        self.lock = lock
        self.stop = stop
        self.space = tuple(_param(name, data) for name, data in spec.space.items())
        self.storage = open_storage(spec.storage_url, spec.dir)
        # Reproducible per machine and study directory, apart across both.
        salt = zlib.crc32(f"{liveness.hostname()}:{spec.dir.resolve()}".encode()) + slot
        self.study = load_study(
            self.storage,
            spec.study_name,
            make_sampler(spec.sampler, spec.seed, salt),
            make_pruner(spec.pruner, spec.eval_every),
        )

    def loop(self, trials: int | None) -> int:
        from tetris_tui.config import Config

        defaults = Config()
        done = 0
        while trials is None or done < trials:
            if self.stop.is_set():
                return EXIT_INTERRUPTED
            liveness.fail_dead_trials(self.study, self.spec.dir)
            trial = self._ask()
            if trial is None:
                return EXIT_DONE
            params = feasible(suggest(trial, self.space), defaults.num_envs, defaults.ppo.n_steps)
            if not self._run(trial, params):
                return EXIT_INTERRUPTED
            done += 1
        return EXIT_DONE

    def _ask(self) -> Any:
        """A new trial tagged with this worker, or None when the study has its total."""
        from optuna.trial import TrialState

        with liveness.ask_lock(self.spec.dir):
            if self.spec.max_trials is not None:
                states = tuple(getattr(TrialState, name) for name in COUNTED)
                if (
                    len(self.study.get_trials(deepcopy=False, states=states))
                    >= self.spec.max_trials
                ):
                    return None
            trial = self.study.ask()
            run_dir = trial_dir(self.spec.dir, trial.number).resolve()
            for key, value in (
                ("host", liveness.hostname()),
                ("study_dir", str(self.spec.dir.resolve())),
                ("run_dir", str(run_dir)),
                ("worker_lock", str(self.lock.path)),
                ("worker_pid", os.getpid()),
            ):
                trial.set_user_attr(key, value)
        return trial

    def _run(self, trial: Any, params: dict[str, Any]) -> bool:
        """Run and tell one trial; False when interrupted."""
        import optuna
        from optuna.trial import TrialState

        for name, value in params.items():
            if trial.params.get(name) != value:
                trial.set_user_attr(f"effective_{name}", value)
        resume_from = None
        resumes = trial.user_attrs.get("resumes")
        if isinstance(resumes, int):
            resume_from = trial_dir(self.spec.dir, resumes)
        storage = describe(self.spec.storage_url, self.spec.dir)
        with _heartbeat(self.study, trial):
            try:
                value = run_trial(self.spec, trial, params, storage, self.stop.is_set, resume_from)
            except optuna.TrialPruned:
                self.study.tell(trial, state=TrialState.PRUNED)
                return True
            except TrialInterrupted:
                trial.set_user_attr("interrupted", True)
                self.study.tell(trial, state=TrialState.FAIL)
                return False
            except TrialFailed as exc:
                trial.set_user_attr("fail_reason", str(exc))
                self.study.tell(trial, state=TrialState.FAIL)
                return True
        self.study.tell(trial, value)
        return True


@contextlib.contextmanager
def _heartbeat(study: Any, trial: Any) -> Any:
    """Optuna's heartbeat for a database storage (the journal has none: see liveness)."""
    storage = study._storage  # noqa: SLF001 - the heartbeat API lives on the storage
    interval = None
    with contextlib.suppress(Exception):
        interval = storage.get_heartbeat_interval()
    if not interval:
        yield
        return
    done = threading.Event()

    def beat() -> None:
        while not done.is_set():
            with contextlib.suppress(Exception):
                storage.record_heartbeat(trial._trial_id)  # noqa: SLF001
            done.wait(interval)

    thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(5)


def _param(name: str, data: dict[str, Any]) -> Param:
    if "choices" in data:
        return Param(name, "categorical", choices=tuple(data["choices"]))
    return Param(name, data["type"], data["low"], data["high"], bool(data.get("log")))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
