"""One trial: a ``tetris-tui --headless`` run in ``STUDY_DIR/trial-NNNN``, then its score.

The trainer is the product's own, started as a user would start it, so a
trial's run directory is an ordinary run. Its intermediate evaluations
(``--eval-every``) are read back from ``events.jsonl``, the run's own history,
and reported to Optuna, which may prune the trial: the trainer is then asked
to stop (SIGTERM: it saves ``latest`` and exits). The objective is the mean of
``tetris-tui play --headless`` on fixed seeds with a piece cap, the same for
every trial, so trials are compared on the same games.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tetris_tui.protocol import FINAL, LATEST
from tetris_tui.runs.atomic import atomic_write_json
from tetris_tui.tune.space import to_cli
from tetris_tui.tune.spec import TUNE_FILE, TuneSpec

POLL_S = 0.25
STOP_WAIT_S = 120.0
TRAINER_LOG = "tune-trainer.log"
# A budget in minutes only: train "forever" and stop on the clock.
UNBOUNDED_STEPS = 10**12
_SUMMARY = re.compile(r"^summary: games=\d+ mean=(?P<mean>[-0-9.eE+]+)", re.MULTILINE)


class TrialInterrupted(Exception):
    """This machine is stopping (Ctrl+C): the trainer saved; a later run resumes it."""


class TrialFailed(Exception):
    """The trainer or the scoring crashed; the message is one line."""


def trial_dir(study_dir: Path, number: int) -> Path:
    return study_dir / f"trial-{number:04d}"


def run_trial(
    spec: TuneSpec,
    trial: Any,
    params: dict[str, Any],
    storage: str,
    should_stop: Callable[[], bool],
    resume_from: Path | None = None,
) -> float:
    """Train, report, maybe prune; the objective's value. Raises optuna's TrialPruned,
    TrialInterrupted or TrialFailed."""
    import optuna

    run_dir = trial_dir(spec.dir, trial.number)
    run_dir.mkdir(parents=True, exist_ok=True)
    resumable = resume_from is not None and (resume_from / LATEST).is_dir()
    if resumable and not (run_dir / LATEST).exists():
        shutil.copytree(resume_from / LATEST, run_dir / LATEST)
    atomic_write_json(
        run_dir / TUNE_FILE,
        {
            "storage": storage,
            "study": spec.study_name,
            "trial": trial.number,
            "params": params,
            "host": trial.user_attrs.get("host"),
            "started": time.time(),
        },
    )
    trainer = _start_trainer(spec, run_dir, params)
    deadline = None
    evaluations = EvaluationTail(run_dir)
    try:
        while trainer.poll() is None:
            found = evaluations.read()
            if deadline is None and spec.minutes_per_trial and evaluations.running:
                # The budget is training time: start-up (seconds, minutes on a busy
                # machine) is not the trial's to pay.
                deadline = time.monotonic() + 60.0 * spec.minutes_per_trial
            for timesteps, mean in found:
                trial.report(mean, timesteps)
                trial.set_user_attr("timesteps", timesteps)
                if trial.should_prune():
                    _stop(trainer)
                    raise optuna.TrialPruned(f"pruned at {timesteps:,} timesteps")
            if should_stop():
                _stop(trainer)
                raise TrialInterrupted("stopped by the user; latest saved")
            if deadline is not None and time.monotonic() >= deadline:
                _stop(trainer)
                break
            time.sleep(POLL_S)
    finally:
        if trainer.poll() is None:  # an exception of ours: never leave it training
            _stop(trainer)
    for timesteps, mean in evaluations.read():
        trial.report(mean, timesteps)
        trial.set_user_attr("timesteps", timesteps)
    if trainer.returncode != 0:
        raise TrialFailed(f"trainer exited with {trainer.returncode}: {_last_line(run_dir)}")
    if should_stop():
        raise TrialInterrupted("stopped by the user; latest saved")
    which = FINAL if (run_dir / FINAL / "model.zip").is_file() else LATEST
    trial.set_user_attr("model", which)
    trial.set_user_attr("timesteps", _saved_timesteps(run_dir / which))
    return score(spec, run_dir, which)


def trainer_command(spec: TuneSpec, run_dir: Path, params: dict[str, Any]) -> list[str]:
    """The exact ``tetris-tui --headless`` command line of a trial."""
    steps = spec.steps_per_trial or UNBOUNDED_STEPS
    command = [sys.executable, "-m", "tetris_tui", "--headless", "--checkpoints", str(run_dir)]
    command += ["--total-timesteps", str(steps), "--eval-every", str(spec.eval_every)]
    if spec.seed is not None:
        command += ["--seed", str(spec.seed)]
    return command + list(spec.trainer_args) + to_cli(params)


def score(spec: TuneSpec, run_dir: Path, which: str) -> float:
    """Mean lines/game of greedy ``play --headless`` on the fixed seeds, capped."""
    command = [sys.executable, "-m", "tetris_tui", "play", "--headless", str(run_dir / which)]
    command += ["--checkpoints", str(run_dir), "--games", str(spec.objective_games)]
    command += ["--seed", str(spec.seed if spec.seed is not None else 0)]
    command += ["--max-pieces", str(spec.objective_pieces)]
    done = subprocess.run(
        command, capture_output=True, text=True, preexec_fn=_die_with_parent, check=False
    )
    found = _SUMMARY.search(done.stdout)
    if done.returncode != 0 or found is None:
        tail = (done.stderr or done.stdout).strip().splitlines()
        raise TrialFailed(f"scoring failed: {tail[-1] if tail else done.returncode}")
    return float(found.group("mean"))


class EvaluationTail:
    """New ``evaluation`` records of a run's ``events.jsonl``, read from where we left off,
    and whether the trainer has started training."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / "events.jsonl"
        self.offset = 0
        self.seen: set[int] = set()
        self.running = False  # the trainer said it trains

    def read(self) -> list[tuple[int, float]]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except OSError:
            return []
        end = data.rfind(b"\n") + 1  # a torn last line waits for its end
        self.offset += end
        found = []
        for line in data[:end].splitlines():
            if b'"state":"running"' in line:
                self.running = True
            if b'"evaluation"' not in line:
                continue
            with contextlib.suppress(ValueError, KeyError, TypeError):
                record = json.loads(line)
                if record.get("kind") == "evaluation" and record["timesteps"] not in self.seen:
                    self.seen.add(int(record["timesteps"]))
                    found.append((int(record["timesteps"]), float(record["lines_mean"])))
        return found


def _start_trainer(spec: TuneSpec, run_dir: Path, params: dict[str, Any]) -> subprocess.Popen:
    log = open(run_dir / TRAINER_LOG, "ab")  # noqa: SIM115 - the child owns it from here
    try:
        return subprocess.Popen(
            trainer_command(spec, run_dir, params),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl+C reaches the runner, which stops us in order
            preexec_fn=_die_with_parent,
        )
    finally:
        log.close()


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM (the trainer saves ``latest`` and exits), then SIGKILL after a long wait."""
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_WAIT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait()


def _die_with_parent() -> None:
    """In the child: SIGTERM when our parent dies, so a killed worker's trainer saves
    and stops instead of training on for nobody (Linux; elsewhere a no-op)."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG


def _saved_timesteps(model_dir: Path) -> int:
    with contextlib.suppress(OSError, ValueError, TypeError):
        return int(json.loads((model_dir / "meta.json").read_text()).get("timesteps", 0))
    return 0


def _last_line(run_dir: Path) -> str:
    with contextlib.suppress(OSError):
        lines = (run_dir / TRAINER_LOG).read_text(errors="replace").strip().splitlines()
        if lines:
            return lines[-1][:200]
    return "no output"
