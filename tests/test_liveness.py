"""A trainer is live while it holds its run's lock, and "stalled" while it does not train
(issue #20): a pid alone may have been reused, and a hung trainer still has a pid."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time

import pytest
from conftest import collect_until, of_kind, small_config

from tetris_tui.protocol import Episode
from tetris_tui.runs.listing import describe_run
from tetris_tui.runs.runlock import LOCK_FILE, WORKER_LOCK_FILE
from tetris_tui.runs.trainers import TRAINER_FILE, live_trainer, read_card
from tetris_tui.session.client import AttachError, connect
from tetris_tui.session.spawned import TrainingSession

FAST = ["--n-steps", "128", "--batch-size", "64", "--n-envs", "1", "--device", "cpu"]
FAST += ["--env", "raw", "--seed", "1"]


def _cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tetris_tui", *args], capture_output=True, text=True, timeout=timeout
    )


def _wait(condition, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_a_stale_card_with_a_reused_pid_blocks_nothing(tmp_path):
    """After a SIGKILL and a reboot, trainer.json names a pid that now runs something else."""
    run = tmp_path / "run"
    run.mkdir()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        card = {"pid": other.pid, "socket": str(run / "trainer.sock"), "run_dir": str(run)}
        card |= {"protocol": 1, "started_at": 0.0, "state": "running", "timesteps": 99}
        card |= {"steps_per_sec": 1234.0, "updated_at": time.time()}
        (run / TRAINER_FILE).write_text(json.dumps(card))
        assert live_trainer(run) is None

        listed = _cli("ls", str(tmp_path))
        assert listed.returncode == 0, listed.stderr
        row = [line for line in listed.stdout.splitlines() if line.startswith(str(run))]
        assert row and "training" not in row[0] and str(other.pid) not in row[0], listed.stdout

        attach = _cli("attach", "--checkpoints", str(run))
        assert attach.returncode == 2 and "no trainer is running" in attach.stderr

        trained = _cli("--headless", "--checkpoints", str(run), "--total-timesteps", "256", *FAST)
        assert trained.returncode == 0, trained.stderr
        assert (run / "final" / "model.zip").is_file()
    finally:
        other.kill()
        other.wait()
    for name in (LOCK_FILE, WORKER_LOCK_FILE):  # nobody else may flock them
        assert stat.S_IMODE((run / name).stat().st_mode) == 0o600


def test_a_hung_trainer_is_stalled_in_ls_and_training_again_when_it_moves(run_dir):
    trainer = TrainingSession()
    trainer.start(small_config(run_dir))
    pid = None
    try:
        collect_until(trainer, lambda ev: len(of_kind(ev, Episode)) >= 3, timeout=90)
        _wait(lambda: (read_card(run_dir) or object()).__dict__.get("last_step_at", 0) > 0)
        assert describe_run(run_dir, stall_after=5).state == "training"
        pid = trainer.pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        _wait(lambda: describe_run(run_dir, stall_after=5).state == "stalled", what="stalled")
        # A viewer is told so in one line, instead of waiting forever for its Hello.
        asked = time.monotonic()
        with pytest.raises(AttachError, match="does not answer within 2 s"):
            connect(run_dir, hello_seconds=2.0)
        assert time.monotonic() - asked < 10
        os.kill(pid, signal.SIGCONT)
        pid = None
        _wait(lambda: describe_run(run_dir, stall_after=5).state == "training", what="training")
    finally:
        if pid is not None:
            os.kill(pid, signal.SIGCONT)
        trainer.stop(timeout=15)


def test_a_trainer_without_a_card_is_listed(tmp_path, monkeypatch):
    """Its socket could not be bound (no private directory for a deep run directory)."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "no" / "such" / "dir"))
    run = tmp_path / ("deep-" * 20) / "run"
    trainer = TrainingSession()
    trainer.start(small_config(run))
    try:
        collect_until(trainer, lambda ev: len(of_kind(ev, Episode)) >= 1, timeout=90)
        assert read_card(run) is None
        row = describe_run(run)
        assert row.state == "training (no card)" and row.pid == trainer.pid
    finally:
        trainer.stop(timeout=15)


@pytest.mark.parametrize("mode", [0o644, 0o666])
def test_a_lock_file_made_wider_is_made_owner_only_again(tmp_path, mode):
    from tetris_tui.runs.runlock import RunLock

    tmp_path.joinpath(LOCK_FILE).touch()
    os.chmod(tmp_path / LOCK_FILE, mode)
    lock = RunLock(tmp_path)
    lock.acquire()
    try:
        for name in (LOCK_FILE, WORKER_LOCK_FILE):
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    finally:
        lock.release()
