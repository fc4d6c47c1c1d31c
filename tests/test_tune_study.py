"""Real studies: ``tetris-tui tune`` with real trainers on tiny budgets.

Each trial is a real ``--headless`` run (PPO on the placement env, a few
thousand steps) scored by a real ``play --headless``; the study is read back
through Optuna itself, as optuna-dashboard would.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tetris_tui.runs.runlock import probe
from tetris_tui.tune.spec import TUNE_FILE, read_json
from tetris_tui.tune.storage import load_study, open_storage

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "tetris_tui"]
SPACE = "[learning_rate]\nlow = 1e-3\nhigh = 3e-2\nlog = true\n\n[n_epochs]\nlow = 1\nhigh = 2\n"
# 64 games x 16 steps: a rollout is 1,024 steps, so a trial of 2,048 is two updates.
TINY = [
    "--trainer-args", "--n-envs 64 --batch-size 256 --eval-games 1",
    "--objective-games", "2", "--objective-pieces", "300", "--headless",
]  # fmt: skip


class Tune:
    """``tetris-tui tune`` in a subprocess, its lines read by a thread."""

    def __init__(self, study_dir: Path, *extra: str) -> None:
        space = study_dir.parent / f"{study_dir.name}-space.toml"
        space.write_text(SPACE)
        self.process = subprocess.Popen(
            [*CLI, "tune", str(study_dir), "--space", str(space), *TINY, *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} in {timeout}s: {self.lines}")
            try:
                line = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            if line is not None:
                self.lines.append(line)

    def finish(self, timeout: float) -> int:
        try:
            rc = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGINT)  # the workers stop their trainers
            self.process.wait(180)
            raise
        self.wait_for("study:", 10)
        return rc


def trials(study_dir: Path) -> list:
    return load_study(open_storage(None, study_dir), "tetris-tui").get_trials()


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.2)


def test_six_trials_two_workers_each_a_run_that_ls_lists_and_best_plays(tmp_path: Path):
    study_dir = tmp_path / "study"
    tune = Tune(
        study_dir, "--workers", "2", "--max-trials", "6", "--steps-per-trial", "2048",
        "--eval-every", "1024", "--seed", "3",
    )  # fmt: skip
    assert tune.finish(timeout=900) == 0, tune.process.stderr.read()
    found = trials(study_dir)
    assert len(found) == 6
    assert sorted(t.number for t in found) == list(range(6))
    assert {t.state.name for t in found} <= {"COMPLETE", "PRUNED"}
    for trial in found:
        run_dir = study_dir / f"trial-{trial.number:04d}"
        record = read_json(run_dir / TUNE_FILE)
        assert record["trial"] == trial.number and record["study"] == "tetris-tui"
        assert record["storage"] == f"journal:{(study_dir / 'study.journal').resolve()}"
        assert trial.user_attrs["run_dir"] == str(run_dir.resolve())
        assert trial.intermediate_values, "every trial reports its evaluations"
        assert any(f"trial {trial.number} {trial.state.name.lower()}" in x for x in tune.lines)
    # Both workers ran trials at the same time: two worker pids.
    assert len({t.user_attrs["worker_pid"] for t in found}) == 2
    listed = subprocess.run([*CLI, "ls", str(study_dir)], capture_output=True, text=True)
    for trial in found:
        row = [x for x in listed.stdout.splitlines() if f"trial-{trial.number:04d}" in x]
        assert len(row) == 1 and row[0].rstrip().endswith(f"tetris-tui #{trial.number}")
    best = max((t for t in found if t.value is not None), key=lambda t: t.value)
    link = study_dir / "best"
    assert link.resolve().parent == (study_dir / f"trial-{best.number:04d}").resolve()
    played = subprocess.run(
        [*CLI, "play", str(link), "--headless", "--games", "1", "--max-pieces", "50"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert played.returncode == 0 and "summary: games=1" in played.stdout, played.stderr


def test_sigkill_of_a_worker_fails_its_trial_and_the_study_reaches_its_total(tmp_path: Path):
    study_dir = tmp_path / "study"
    tune = Tune(study_dir, "--workers", "1", "--max-trials", "2", "--minutes-per-trial", "0.25")
    trial_dir = study_dir / "trial-0000"
    wait_until(lambda: probe(trial_dir) is True, 180, "trial 0's trainer trains")
    running = [t for t in trials(study_dir) if t.number == 0]
    worker = running[0].user_attrs["worker_pid"]
    os.kill(worker, signal.SIGKILL)
    killed_at = time.monotonic()
    wait_until(
        lambda: [t.state.name for t in trials(study_dir) if t.number == 0] == ["FAIL"],
        30,
        "the killed worker's trial is FAIL",
    )
    assert time.monotonic() - killed_at < 30
    # Its trainer heard its parent die: it saved and stopped, it does not train for nobody.
    wait_until(lambda: probe(trial_dir) is False, 120, "the orphaned trainer stops")
    assert (trial_dir / "latest" / "model.zip").is_file()
    assert tune.finish(timeout=600) == 0
    found = trials(study_dir)
    states = sorted((t.number, t.state.name) for t in found)
    assert states[0] == (0, "FAIL")
    assert [s for _, s in states[1:]].count("FAIL") == 0 and len(states) == 3
    assert found[0].user_attrs["fail_reason"] == "its worker died"
    assert any("trial 0 failed: its worker died" in line for line in tune.lines)


def test_ctrl_c_saves_and_the_same_command_resumes_the_trial(tmp_path: Path):
    study_dir = tmp_path / "study"
    args = ("--workers", "1", "--max-trials", "1", "--minutes-per-trial", "0.25")
    first = Tune(study_dir, *args)
    trial_dir = study_dir / "trial-0000"
    log = trial_dir / "tune-trainer.log"
    wait_until(lambda: log.exists() and "steps/s" in log.read_text(), 180, "trial 0 trains")
    first.wait_for("trial 0 running", 60)
    first.process.send_signal(signal.SIGINT)
    assert first.finish(timeout=240) == 0
    assert probe(trial_dir) is False, "no trainer left training"
    (interrupted,) = trials(study_dir)
    assert interrupted.state.name == "FAIL" and interrupted.user_attrs["interrupted"]
    saved = read_json(trial_dir / "latest" / "meta.json")["timesteps"]
    assert saved > 0
    second = Tune(study_dir, *args)
    assert second.finish(timeout=400) == 0
    resumed = trials(study_dir)[1]
    assert resumed.state.name in ("COMPLETE", "PRUNED")
    assert resumed.user_attrs["resumes"] == 0 and resumed.params == interrupted.params
    log = (study_dir / "trial-0001" / "tune-trainer.log").read_text()
    assert f"resuming from {study_dir / 'trial-0001' / 'latest'} at {saved:,}" in log
