"""Nothing lost, nothing left behind: a real worker that fails, is killed, or cannot save.

Each test drives a real TrainingSession (real spawned worker, real PPO on the
raw env) into a failure and checks what the session reports, what is on disk,
and that no process is left.
"""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import collect_until, of_kind, small_config
from reliability_helpers import kill_all, load_ppo, read_json, temp_files, wait_gone

from tetris_tui.faults import ENV_VAR
from tetris_tui.protocol import (
    CRASHED,
    LATEST,
    RUNNING,
    STOPPED,
    Checkpoint,
    Error,
    Info,
    Metrics,
    Status,
    Stop,
    Warning,
)
from tetris_tui.runs.runlock import RunLock
from tetris_tui.runs.runlog import read_history
from tetris_tui.session.spawned import TrainingSession, worker_pids

ROUNDS = 6


def _state(events, state):
    return any(isinstance(e, Status) and e.state == state for e in events)


def _ended(events):
    return any(isinstance(e, Status) and e.state in (STOPPED, CRASHED) for e in events)


def _saved_latest(events):
    return any(c.which == LATEST for c in of_kind(events, Checkpoint))


def _could_not_save_latest(events):
    return any(w.text.startswith("could not save latest") for w in of_kind(events, Warning))


def _lock_is_free(run_dir: Path) -> bool:
    lock = RunLock(run_dir)
    lock.acquire()
    lock.release()
    return True


# -- 1. an exception inside training ----------------------------------------------------


def test_worker_exception_reports_error_and_keeps_the_last_checkpoint(run_dir, monkeypatch):
    monkeypatch.setenv(ENV_VAR, "raise-at-step:300")
    session = TrainingSession()
    try:
        session.start(small_config(run_dir, checkpoint_every=128))
        collect_until(session, lambda ev: _state(ev, RUNNING), timeout=60)
        pids = worker_pids(session)
        events = collect_until(session, lambda ev: _state(ev, CRASHED), timeout=60)
    finally:
        session.stop(timeout=10)

    errors = of_kind(events, Error)
    assert len(errors) == 1
    assert errors[0].message == "RuntimeError: injected fault at timestep 300"
    trace = errors[0].traceback
    assert trace.startswith("Traceback (most recent call last)")
    assert "in learn" in trace and trace.rstrip().endswith(errors[0].message)
    crashed = of_kind(events, Status)[-1]
    assert crashed.state == CRASHED and "injected fault" in crashed.message
    assert "injected fault at timestep 300" in (run_dir / "worker.log").read_text()

    # The last good checkpoint (256) is untouched, and nothing is left running.
    assert [c.timesteps for c in of_kind(events, Checkpoint) if c.which == LATEST] == [128, 256]
    assert read_json(run_dir / LATEST / "meta.json")["timesteps"] == 256
    assert load_ppo(run_dir / LATEST / "model.zip").num_timesteps == 256
    assert not (run_dir / "final").exists()
    assert wait_gone(pids, 10) == []
    assert _lock_is_free(run_dir)

    # A new session on the same directory starts again from that checkpoint.
    monkeypatch.delenv(ENV_VAR)
    again = TrainingSession()
    try:
        again.start(small_config(run_dir, checkpoint_every=128))
        events = collect_until(again, lambda ev: _state(ev, RUNNING), timeout=60)
        again.send(Stop())
        collect_until(again, lambda ev: _state(ev, STOPPED), timeout=30, seen=events)
    finally:
        again.stop(timeout=10)
    resumed = f"resuming from {run_dir / LATEST} at 256 timesteps"
    assert resumed in [e.text for e in of_kind(events, Info)]
    running = [e for e in of_kind(events, Status) if e.state == RUNNING]
    assert running[0].timesteps == 256
    assert read_json(run_dir / LATEST / "meta.json")["timesteps"] >= 256


# -- 2. the worker is killed ---------------------------------------------------------------


def test_killed_worker_is_reported_within_a_second(run_dir):
    # Two envs in subprocesses: the worker's own children must not outlive it either.
    config = small_config(run_dir, n_envs=2, checkpoint_every=256)
    session = TrainingSession()
    pids: list[int] = []
    try:
        session.start(config)
        events = collect_until(session, _saved_latest, timeout=90)
        pids = worker_pids(session)
        assert len(pids) >= 3, "worker plus its env processes"
        os.kill(session.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        crashed = collect_until(session, lambda ev: _state(ev, CRASHED), timeout=10)
        noticed = time.monotonic() - killed_at
    finally:
        session.stop(timeout=10)

    assert noticed < 1.5, f"the death was reported after {noticed:.2f}s"
    status = [e for e in of_kind(crashed, Status) if e.state == CRASHED]
    assert len(status) == 1
    assert "killed by SIGKILL" in status[0].message
    assert session.exitcode == -signal.SIGKILL
    assert session.state == CRASHED and not session.alive
    assert _lock_is_free(run_dir)
    assert wait_gone(pids, 15) == [], "env processes outlived their worker"
    saved = max(c.timesteps for c in of_kind(events, Checkpoint) if c.which == LATEST)
    assert load_ppo(run_dir / LATEST / "model.zip").num_timesteps >= saved

    # The same session object starts again on the same run directory.
    try:
        session.start(config.replace(n_envs=1))
        resumed = collect_until(session, lambda ev: _state(ev, RUNNING), timeout=60)
        session.send(Stop())
        collect_until(session, lambda ev: _state(ev, STOPPED), timeout=30, seen=resumed)
    finally:
        session.stop(timeout=10)
    assert [e for e in of_kind(resumed, Status) if e.state == RUNNING][0].timesteps >= saved


# -- 5. killed while saving, again and again ---------------------------------------------------


@pytest.mark.slow
def test_kills_during_saves_never_break_latest(run_dir):
    """SIGKILL at random moments while ``latest`` is saved every 32 steps.

    Half the kills are aimed at the moment a checkpoint's hidden folder exists
    (mid-write). After every kill, latest/ holds a model and a meta from the same
    save; the next worker resumes from it (no checkpoint is ever judged damaged),
    and what killed writers left is swept at the next start.
    """
    rng = random.Random(20240605)
    config = small_config(run_dir, checkpoint_every=32, fps=0.0)
    previous_steps = 0
    torn = 0
    for round_number in range(ROUNDS):
        session = TrainingSession()
        try:
            session.start(config)
            events = collect_until(session, _saved_latest, timeout=60)
            pid = session.pid
            if round_number % 2:
                time.sleep(rng.uniform(0.0, 0.3))
            else:
                # Most of a save is serialising in memory; aim at the short write itself.
                _wait_for_temp_file(run_dir, timeout=rng.uniform(0.5, 2.0))
            os.kill(pid, signal.SIGKILL)
            collect_until(session, lambda ev: _state(ev, CRASHED), timeout=10, seen=events)
        finally:
            session.stop(timeout=10)

        running = [e for e in of_kind(events, Status) if e.state == RUNNING]
        assert running and running[0].timesteps == previous_steps, f"round {round_number}"
        if round_number:
            assert any(e.text.startswith("resuming from") for e in of_kind(events, Info))
        assert not of_kind(events, Warning), of_kind(events, Warning)

        model = load_ppo(run_dir / LATEST / "model.zip")
        meta = read_json(run_dir / LATEST / "meta.json")
        # A checkpoint is one unit: its model and meta always come from the same save.
        assert meta["timesteps"] == model.num_timesteps
        assert model.num_timesteps >= previous_steps
        previous_steps = model.num_timesteps
        assert not list(run_dir.glob("*.bad-*")), "a good checkpoint was moved aside"
        leftovers = temp_files(run_dir) + save_siblings(run_dir)
        torn += bool(leftovers)
        # Only the writer just killed may have left temp files: older ones were swept.
        assert all(f".{pid}." in p.name for p in leftovers), leftovers
    # The rounds aimed at a write must have cut at least one short (else nothing was tested).
    assert torn >= 1, "no kill landed inside a file write"
    # The history survives too: at most one torn line per kill, and it still reads.
    lines = (run_dir / "events.jsonl").read_text().splitlines()
    assert sum(1 for line in lines if not _is_json(line)) <= ROUNDS
    assert read_history(run_dir).checkpoints


def _is_json(line: str) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def save_siblings(run_dir: Path) -> list[Path]:
    """The hidden folders a checkpoint is written into before it replaces the old one."""
    return sorted(p for p in run_dir.glob(f".{LATEST}.*") if p.is_dir())


def _wait_for_temp_file(directory: Path, timeout: float) -> bool:
    """Until a checkpoint is being written (its hidden ``.new`` folder exists)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if any(name.endswith(".new") for name in os.listdir(directory)):
                return True
        except OSError:
            pass
        time.sleep(0.0005)
    return False


# -- 7. the disk fills up ------------------------------------------------------------------


def _mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir(parents=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
    )
    return result.returncode == 0


def _fill(path: Path) -> None:
    """Write until the filesystem says it is full."""
    chunk = b"\0" * (64 * 1024)
    with open(path, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    with open(path, "ab", buffering=0) as handle:  # the last few bytes too
        try:
            while True:
                handle.write(b"\0" * 512)
        except OSError:
            pass


def test_disk_full_while_saving_warns_and_keeps_the_old_checkpoint(tmp_path):
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "12m"):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    run_dir = disk / "run"
    session = TrainingSession()
    pids: list[int] = []
    try:
        session.start(small_config(run_dir, checkpoint_every=256))
        events = collect_until(session, _saved_latest, timeout=60)
        pids = worker_pids(session)
        good = [c for c in of_kind(events, Checkpoint) if c.which == LATEST][0]
        filler = disk / "filler"
        _fill(filler)

        full = collect_until(session, _could_not_save_latest, timeout=60)
        warning = [w for w in of_kind(full, Warning) if w.text.startswith("could not save")][0]
        assert "No space left on device" in warning.text and "\n" not in warning.text
        # Training goes on, and the previous checkpoint is whole.
        last = of_kind(full, Metrics)[-1].timesteps if of_kind(full, Metrics) else 0
        more = collect_until(
            session, lambda ev: any(m.timesteps > last + 256 for m in of_kind(ev, Metrics))
        )
        assert not _state(full + more, CRASHED)
        assert read_json(run_dir / LATEST / "meta.json")["timesteps"] >= good.timesteps
        model = load_ppo(run_dir / LATEST / "model.zip")
        saved = [c.timesteps for c in of_kind(events + full + more, Checkpoint)]
        assert model.num_timesteps in saved
        assert temp_files(run_dir) == [], "a failed save left its temp file"

        # Room again: the next save works.
        filler.unlink()
        after = collect_until(
            session,
            lambda ev: any(
                c.which == LATEST and c.timesteps > model.num_timesteps
                for c in of_kind(ev, Checkpoint)
            ),
            timeout=60,
        )
        session.send(Stop())
        collect_until(session, lambda ev: _state(ev, STOPPED), timeout=30, seen=after)
    finally:
        session.stop(timeout=10)
        kill_all(pids)
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)
    assert wait_gone(pids, 10) == []


def test_injected_save_failure_warns_and_training_goes_on(run_dir, monkeypatch):
    """The same path without root: TETRIS_TUI_FAULT=save-fails fails every save."""
    monkeypatch.setenv(ENV_VAR, "save-fails")
    session = TrainingSession()
    try:
        session.start(small_config(run_dir, checkpoint_every=128))
        events = collect_until(
            session, lambda ev: any(m.timesteps >= 512 for m in of_kind(ev, Metrics))
        )
        session.send(Stop())
        collect_until(session, _ended, timeout=30, seen=events)
    finally:
        session.stop(timeout=10)
    warnings = [w.text for w in of_kind(events, Warning)]
    assert warnings and all(w.startswith("could not save") for w in warnings), warnings
    latest = [w for w in warnings if w.startswith("could not save latest:")]
    assert latest and "[Errno 28] No space left on device (injected)" in latest[0]
    assert of_kind(events, Status)[-1].state == STOPPED
    assert not of_kind(events, Checkpoint) and not of_kind(events, Error)
    assert not (run_dir / LATEST / "model.zip").exists()
    assert temp_files(run_dir) == []
