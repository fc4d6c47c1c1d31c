"""The runner: start this machine's tune workers, watch the study, stop them in order.

It never trains and never imports torch: it starts K ``tune.worker`` processes
and reads the study from its storage about once a second, which shows the
trials of every machine alike. Each poll also fails the trials of workers that
died here (``liveness``), restarts such a worker, and points ``STUDY_DIR/best``
at the best trial's model. Ctrl+C sends SIGTERM to the workers, which stop
their trainers with a save; the same command later resumes the study.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tetris_tui.runs.trainers import live_trainer
from tetris_tui.tune import liveness
from tetris_tui.tune.objective import STOP_WAIT_S, _die_with_parent
from tetris_tui.tune.spec import TuneSpec
from tetris_tui.tune.storage import load_study, open_storage

BEST_LINK = "best"
WORKERS_LOG = "workers.log"
MAX_RESTARTS = 3
_FINISHED = ("COMPLETE", "PRUNED", "FAIL")


@dataclass(frozen=True)
class TrialRow:
    """One trial as the screen and the lines show it."""

    number: int
    state: str  # RUNNING, COMPLETE, PRUNED, FAIL, WAITING
    params: dict[str, Any]
    value: float | None
    timesteps: int
    host: str
    run_dir: Path | None  # on this machine, else None
    reports: dict[int, float] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class Snapshot:
    rows: list[TrialRow]
    best: TrialRow | None


def snapshot(study: Any) -> Snapshot:
    """The study now, as plain rows (no Optuna objects leave here)."""
    rows = []
    best = None
    for trial in study.get_trials(deepcopy=False):
        attrs = trial.user_attrs
        run_dir = Path(attrs["run_dir"]) if "run_dir" in attrs else None
        timesteps = int(attrs.get("timesteps", 0) or 0)
        if trial.state.name == "RUNNING" and run_dir is not None:
            card = live_trainer(run_dir)  # this machine's trainer: its steps right now
            timesteps = max(timesteps, card.timesteps) if card is not None else timesteps
        note = attrs.get("fail_reason", "")
        if attrs.get("interrupted"):
            note = "interrupted (resumed on the next run)"
        row = TrialRow(
            number=trial.number,
            state=trial.state.name,
            params=dict(trial.params),
            value=trial.value if trial.state.name == "COMPLETE" else None,
            timesteps=timesteps,
            host=str(attrs.get("host", "")),
            run_dir=run_dir if run_dir is not None and run_dir.is_dir() else None,
            reports=dict(trial.intermediate_values),
            note=str(note),
        )
        rows.append(row)
        if row.value is not None and (best is None or row.value > best.value):
            best = row
    return Snapshot(rows, best)


class Runner:
    """This machine's workers and the study they share."""

    def __init__(self, spec: TuneSpec) -> None:
        self.spec = spec
        self.storage = open_storage(spec.storage_url, spec.dir)
        self.study = load_study(self.storage, spec.study_name)
        self.workers: dict[int, subprocess.Popen] = {}
        self.restarts: dict[int, int] = {}
        self.stopping = False
        self.stop_started = 0.0
        self.crashed = False

    def start(self) -> None:
        self.resume_interrupted()
        for slot in range(self.spec.workers):
            self.workers[slot] = self._spawn(slot, self.spec.trials_per_worker)

    def resume_interrupted(self) -> list[int]:
        """Enqueue again the parameters of this directory's trials that a Ctrl+C cut short."""
        from optuna.trial import TrialState

        mine = str(self.spec.dir.resolve())
        trials = self.study.get_trials(deepcopy=False)
        taken = {t.user_attrs.get("resumes") for t in trials}
        again = []
        for trial in trials:
            attrs = trial.user_attrs
            if (
                trial.state == TrialState.FAIL
                and attrs.get("interrupted")
                and attrs.get("study_dir") == mine
                and trial.number not in taken
            ):
                self.study.enqueue_trial(trial.params, user_attrs={"resumes": trial.number})
                again.append(trial.number)
        return again

    def poll(self) -> Snapshot:
        """One look: dead workers' trials failed (and the workers restarted), best linked."""
        liveness.fail_dead_trials(self.study, self.spec.dir)
        for slot, process in list(self.workers.items()):
            code = process.poll()
            if code is None or code in (0, 3) or self.stopping:
                continue
            liveness.fail_dead_trials(self.study, self.spec.dir)
            if self.restarts.get(slot, 0) >= MAX_RESTARTS:
                self.crashed = True
                continue
            self.restarts[slot] = self.restarts.get(slot, 0) + 1
            self.workers[slot] = self._spawn(slot, self._left_for(process.pid))
        if self.stopping and time.monotonic() - self.stop_started > STOP_WAIT_S + 30:
            for process in self.workers.values():
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
        shot = snapshot(self.study)
        self._link_best(shot.best)
        return shot

    @property
    def done(self) -> bool:
        return all(p.poll() is not None for p in self.workers.values()) and not any(
            p.returncode not in (0, 3)
            and not self.stopping
            and self.restarts.get(s, 0) < MAX_RESTARTS
            for s, p in self.workers.items()
        )

    def stop(self) -> None:
        """Ctrl+C: every worker stops its trainer with a save, then exits."""
        if self.stopping:
            return
        self.stopping = True
        self.stop_started = time.monotonic()
        for process in self.workers.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()

    def _left_for(self, pid: int) -> int | None:
        """Trials a restarted worker still owes: its per-worker count less the dead one's."""
        if self.spec.trials_per_worker is None:
            return None
        spent = sum(
            1
            for t in self.study.get_trials(deepcopy=False)
            if t.user_attrs.get("worker_pid") == pid and t.state.name in _FINISHED
        )
        return max(0, self.spec.trials_per_worker - spent)

    def _spawn(self, slot: int, trials: int | None) -> subprocess.Popen:
        command = [sys.executable, "-m", "tetris_tui.tune.worker", self.spec.to_json(), str(slot)]
        if trials is not None:
            command.append(str(trials))
        with open(self.spec.dir / WORKERS_LOG, "ab") as log:
            return subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl+C reaches us; we stop them in order
                preexec_fn=_die_with_parent,
            )

    def _link_best(self, best: TrialRow | None) -> None:
        """``STUDY_DIR/best`` -> the best trial's model, when that trial ran here."""
        if best is None or best.run_dir is None:
            return
        link = self.spec.dir / BEST_LINK
        target = os.path.relpath(self._model_dir(best), self.spec.dir)
        with contextlib.suppress(OSError):
            if os.readlink(link) == target:
                return
        temp = self.spec.dir / f".best.{os.getpid()}.tmp"
        with contextlib.suppress(OSError):
            temp.unlink()
        with contextlib.suppress(OSError):
            os.symlink(target, temp)
            os.replace(temp, link)  # atomic: ``best`` always names one whole model

    def _model_dir(self, row: TrialRow) -> Path:
        for which in ("final", "latest"):
            if (row.run_dir / which / "model.zip").is_file():
                return row.run_dir / which
        return row.run_dir / "latest"


def close_quietly(runner: Runner) -> None:
    """Stop and wait for the workers (bounded: they save first)."""
    runner.stop()
    deadline = time.monotonic() + STOP_WAIT_S + 30
    for process in runner.workers.values():
        left = max(0.1, deadline - time.monotonic())
        try:
            process.wait(left)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
