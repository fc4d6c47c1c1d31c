"""Every stop path is bounded: signals take no lock, a stop that is not obeyed escalates.

``kill -TERM -- -PGID`` (what systemd and ``docker stop`` do) reaches the
trainer and its spectator at once. The spectator's handler used to set a
multiprocessing Event while its main thread waited on it: both processes then
waited forever on the Event's lock (3 times out of 3 before the fix).
"""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from reliability_helpers import kill_all, last_status, read_json, run_cli, wait_gone

from tetris_tui.protocol import LATEST

# The default placement env (it has the spectator), small enough to start fast.
DETACHED = ["--headless", "--detach", "--n-envs", "16", "--batch-size", "256"]
DETACHED += ["--total-timesteps", "1000000000", "--seed", "1", "--device", "cpu"]
ROUNDS = 10
SPECTATOR_WAIT = 180.0  # it imports torch at low priority: minutes on a loaded machine


def group_pids(pgid: int) -> list[int]:
    """Every live process of the process group ``pgid``, from /proc."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            pids.append(int(entry.name))
    return pids


def _spectator_plays(run: Path, pids: list[int], trainer: int) -> bool:
    log = (run / "worker.log").read_text(errors="replace")
    return any(f"spectator (pid {pid}) plays" in log for pid in pids if pid != trainer)


def _detach(run: Path) -> int:
    result = run_cli(*DETACHED, "--checkpoints", str(run), timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    match = re.search(r"pid (\d+)", result.stdout)
    assert match, result.stdout
    return int(match.group(1))


@pytest.mark.slow
def test_group_sigterm_saves_and_ends_every_process_each_time(tmp_path):
    run = tmp_path / "run"
    saved = 0
    for round_ in range(ROUNDS):
        trainer = _detach(run)  # resumes from the last round's latest
        assert os.getpgid(trainer) == trainer  # its own session and group
        pids: list[int] = []
        try:
            # Kill while the spectator plays (waits on its stop between placements).
            deadline = time.monotonic() + SPECTATOR_WAIT
            while not _spectator_plays(run, pids := group_pids(trainer), trainer):
                assert time.monotonic() < deadline, f"round {round_}: the spectator never played"
                time.sleep(0.2)
            os.killpg(trainer, signal.SIGTERM)
            left = wait_gone(pids, 15)
            assert left == [], f"round {round_}: still running 15 s after SIGTERM: {left}"
        finally:
            kill_all(group_pids(trainer))
        assert last_status(run) == "stopped", f"round {round_}"
        timesteps = read_json(run / LATEST / "meta.json")["timesteps"]
        assert timesteps > saved, f"round {round_}: latest not saved ({timesteps} <= {saved})"
        saved = timesteps


@pytest.mark.slow
def test_group_sigterm_with_env_subprocesses_saves_too(tmp_path):
    """The raw env's SubprocVecEnv children used to die of the SIGTERM mid-step: crashed."""
    run = tmp_path / "run"
    raw = ["--env", "raw", "--n-envs", "2", "--n-steps", "64", "--batch-size", "64"]
    result = run_cli(*DETACHED, *raw, "--checkpoints", str(run), timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    trainer = int(re.search(r"pid (\d+)", result.stdout).group(1))  # type: ignore[union-attr]
    try:
        pids = group_pids(trainer)
        assert len(pids) >= 3, "no env subprocesses"  # the trainer and its two envs
        time.sleep(2)
        os.killpg(trainer, signal.SIGTERM)
        assert wait_gone(pids, 15) == []
    finally:
        kill_all(group_pids(trainer))
    assert last_status(run) == "stopped"
    assert read_json(run / LATEST / "meta.json")["timesteps"] > 0


def _wait_on_event_until_sigterm(ready: object, stop: object) -> None:
    """A worker's main thread waiting on a multiprocessing Event when SIGTERM comes."""
    from tetris_tui.worker.stop_signals import StopSignals

    StopSignals((signal.SIGTERM,)).relay_to(stop)
    ready.set()  # type: ignore[attr-defined]
    while not stop.wait(0.5):  # type: ignore[attr-defined]
        pass


@pytest.mark.parametrize("attempt", range(3))
def test_a_sigterm_during_a_wait_on_the_stop_event_ends_the_wait(attempt):
    """The spectator's old deadlock, on its own: the handler may not take the Event's lock."""
    context = multiprocessing.get_context("spawn")
    ready, stop = context.Event(), context.Event()
    process = context.Process(target=_wait_on_event_until_sigterm, args=(ready, stop))
    process.start()
    try:
        assert ready.wait(60)
        time.sleep(0.2)  # inside stop.wait()
        os.kill(process.pid, signal.SIGTERM)
        process.join(10)
        assert process.exitcode == 0, "the wait never ended"
        assert stop.is_set()
    finally:
        if process.is_alive():
            process.kill()
            process.join(5)


def test_stop_signals_write_the_signal_number_for_select():
    """The C-level handler writes at once: a select wakes even before Python runs the handler."""
    code = (
        "import os, select, signal\n"
        "from tetris_tui.worker.stop_signals import StopSignals\n"
        "s = StopSignals((signal.SIGTERM,))\n"
        "print('ready', flush=True)\n"
        "r, _, _ = select.select([s.fd], [], [], 30)\n"
        "print('woke', bool(r), s.caught == signal.SIGTERM, os.read(s.fd, 8) == bytes([15]))\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=os.environ
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        child.send_signal(signal.SIGTERM)
        out, _ = child.communicate(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
    assert out.strip() == "woke True True True"
    assert child.returncode == 0
