"""Nothing lost, nothing left behind: ``tetris-tui --headless`` as a real process.

Hang-ups, a killed parent, two runs on one directory, bad options, a crash in
the worker, and memory over a longer run. Each test checks what the user is
told, what is on disk, and the process table afterwards.
"""

from __future__ import annotations

import fcntl
import os
import select
import signal
import statistics
import subprocess
import termios
import time

import pytest
from reliability_helpers import (
    CLI,
    FAST,
    Headless,
    kill_all,
    last_status,
    load_ppo,
    read_json,
    run_cli,
    wait_gone,
)

from tetris_tui.faults import ENV_VAR
from tetris_tui.proctree import descendants, find_worker, rss_mb
from tetris_tui.runs.runlock import RunLock
from tetris_tui.runs.trainers import live_trainer


def _running(line: str) -> bool:
    return line.startswith("[running]")


# -- 3. the terminal goes away ---------------------------------------------------------------


def _leaves_the_trainer_training(run) -> None:
    """The trainer outlived its terminal; it still stops with a save on SIGTERM."""
    trainer = live_trainer(run)
    assert trainer is not None, "the trainer died with its terminal"
    steps = trainer.timesteps
    deadline = time.monotonic() + 30
    while (card := live_trainer(run)) is not None and card.timesteps <= steps + 100:
        assert time.monotonic() < deadline, "the trainer stopped training"
        time.sleep(0.5)
    os.kill(trainer.pid, signal.SIGTERM)
    assert wait_gone([trainer.pid], 40) == []
    assert last_status(run) == "stopped"
    assert load_ppo(run / "latest" / "model.zip").num_timesteps > steps


def test_sighup_leaves_the_trainer_running(tmp_path):
    run = tmp_path / "run"
    headless = Headless(run)
    pids: list[int] = []
    try:
        headless.wait_for(_running)
        pids = [find_worker(headless.pid), *descendants(headless.pid)]
        time.sleep(1.0)
        headless.process.send_signal(signal.SIGHUP)
        rc = headless.finish(timeout=60)
        assert rc == 0, headless.stderr
        assert headless.stderr == ""
        assert not any("saving and stopping" in line for line in headless.lines)
        _leaves_the_trainer_training(run)
    finally:
        headless.kill()
        kill_all(pids)


def test_closed_terminal_leaves_the_trainer_running(tmp_path):
    """The real thing: headless on a pty whose master is closed (SIGHUP, then EIO)."""
    run = tmp_path / "run"
    master, slave = os.openpty()

    def controlling_terminal() -> None:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    process = subprocess.Popen(
        [*CLI, "--headless", "--checkpoints", str(run), *FAST],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
        preexec_fn=controlling_terminal,
    )
    os.close(slave)
    pids: list[int] = []
    try:
        seen = b""
        deadline = time.monotonic() + 60
        while b"[running]" not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(master, 4096)
                except OSError:
                    break
        assert b"[running]" in seen, seen
        pids = [find_worker(process.pid), *descendants(process.pid)]
        time.sleep(1.0)
        os.close(master)  # the terminal window is closed
        master = -1
        rc = process.wait(60)
        assert rc == 0, "a vanished terminal must not turn into a crash"
        _leaves_the_trainer_training(run)
    finally:
        if master >= 0:
            os.close(master)
        if process.poll() is None:
            process.kill()
            process.wait(10)
        kill_all(pids)


def test_stop_during_start_up_is_a_stop_not_a_finish(tmp_path):
    run = tmp_path / "run"
    headless = Headless(run)
    try:
        headless.wait_for(lambda line: line.startswith("[starting]"))
        headless.process.send_signal(signal.SIGINT)
        rc = headless.finish(timeout=60)
    finally:
        headless.kill()
    assert rc == 0, headless.stderr
    assert headless.lines[-1].startswith("[stopped]"), headless.lines
    assert not any(line.startswith("[finished]") for line in headless.lines)
    assert not (run / "final").exists(), "an untrained model was saved as final"


# -- 4. the parent dies -----------------------------------------------------------------------


def test_trainer_goes_on_when_its_headless_parent_is_killed(tmp_path):
    run = tmp_path / "run"
    headless = Headless(run)
    pids: list[int] = []
    try:
        headless.wait_for(_running)
        worker = find_worker(headless.pid)
        pids = [worker, *descendants(headless.pid)]
        time.sleep(1.5)
        headless.process.kill()
        headless.process.wait(10)
        # The orphan trains on, and the run stays its own: a second trainer is refused.
        refused = run_cli("--headless", "--checkpoints", str(run), *FAST)
        assert refused.returncode == 2
        assert refused.stdout == ""
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert f"pid {worker}" in refused.stderr and "tetris-tui attach" in refused.stderr
        assert wait_gone([worker], 3) == [worker], "the trainer died with its parent"
        os.kill(worker, signal.SIGTERM)  # it stops with a save on SIGTERM
        left = wait_gone([worker], 40)
    finally:
        headless.kill()
        kill_all(pids)
    assert left == [], "the trainer did not stop on SIGTERM"
    assert last_status(run) == "stopped"
    model = load_ppo(run / "latest" / "model.zip")
    assert model.num_timesteps == read_json(run / "latest" / "meta.json")["timesteps"] > 0
    assert wait_gone(pids, 10) == []
    lock = RunLock(run)
    lock.acquire()  # free again once the worker is gone
    lock.release()


# -- 1. seen from the command line: a crash in the worker ---------------------------------------


def test_worker_exception_in_headless_exits_1_with_one_error_line(tmp_path):
    run = tmp_path / "run"
    headless = Headless(run, "--checkpoint-every", "128", env={ENV_VAR: "raise-at-step:200"})
    try:
        rc = headless.finish(timeout=90)
    finally:
        headless.kill()
    assert rc == 1
    errors = [line for line in headless.lines if line.startswith("error: ")]
    assert errors == [
        f"error: RuntimeError: injected fault at timestep 200 (traceback in {run}/worker.log)"
    ]
    assert headless.lines[-1].startswith("[crashed] RuntimeError: injected fault")
    assert "Traceback" in (run / "worker.log").read_text()
    assert read_json(run / "latest" / "meta.json")["timesteps"] == 128


# -- 8. bad options ----------------------------------------------------------------------------

BAD_OPTIONS = [
    (["--checkpoint-every", "-1"], "checkpoint_every must be > 0"),
    (["--checkpoint-every", "0"], "checkpoint_every must be > 0"),
    (["--n-envs", "-1"], "n_envs must be > 0"),
    (["--fps", "-1"], "fps must be between 0 and 120"),
    (["--fps", "nan"], "must be a finite number"),
    (["--target-lines", "0"], "target lines must be > 0"),
    (["--target-lines", "-3"], "target lines must be > 0"),
    (["--target-lines", "many"], "invalid number"),
    (["--target-lines", "inf"], "must be a finite number"),
    (["--step-delay", "-0.5"], "step delay must be >= 0"),
    (["--step-delay", "inf"], "must be a finite number"),
    (["--learning-rate", "nan"], "must be a finite number"),
    (["--eval-every", "0"], "eval_every must be > 0"),
    (["--eval-games", "0"], "eval_games must be > 0"),
    (["--max-pieces", "-1"], "max_pieces must be >= 0"),
    (["--seed", "-1"], "seed must be >= 0"),
    (["--gamma", "1.5"], "gamma must be in (0, 1]"),
    (["--n-steps", "1", "--n-envs", "1"], "n_steps x n_envs must be at least 2"),
    (["--batch-size", "1"], "batch_size must be at least 2"),
    (["--vec-env", "threads"], "invalid choice"),
]


@pytest.mark.parametrize(
    ("args", "message"), BAD_OPTIONS, ids=[" ".join(a) for a, _ in BAD_OPTIONS]
)
def test_bad_options_exit_2_before_anything_starts(tmp_path, args, message):
    run = tmp_path / "r"
    result = run_cli("--headless", "--checkpoints", str(run), *args)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tetris-tui: error: "), result.stderr
    assert message in lines[0]
    assert not run.exists(), "the run directory was touched"


# -- 9. two runs on one directory ----------------------------------------------------------------


def test_second_run_on_the_same_directory_is_refused(tmp_path):
    run = tmp_path / "run"
    first = Headless(run, "--checkpoint-every", "256")
    pids: list[int] = []
    try:
        first.wait_for(lambda line: line.startswith("saved latest"))
        pids = [find_worker(first.pid), *descendants(first.pid)]
        second = run_cli("--headless", "--checkpoints", str(run), *FAST)
        first.process.send_signal(signal.SIGINT)
        rc = first.finish(timeout=60)
    finally:
        first.kill()
        kill_all(pids)
    assert second.returncode == 2
    assert second.stdout == ""
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1, second.stderr
    # It names the trainer (the process to stop) and how to watch it instead.
    assert f"pid {pids[0]}" in lines[0] and "already running" in lines[0]

    # The first run went on undisturbed and its checkpoint is the one it announced.
    assert rc == 0, first.stderr
    assert first.lines[-1].startswith("[stopped]")
    saved = [line for line in first.lines if line.startswith("saved latest")][-1]
    steps = int(saved.rsplit(" at ", 1)[1].split()[0].replace(",", ""))
    assert load_ppo(run / "latest" / "model.zip").num_timesteps == steps
    assert read_json(run / "latest" / "meta.json")["timesteps"] == steps
    assert wait_gone(pids, 10) == []


# -- 10. memory over a longer run --------------------------------------------------------------


@pytest.mark.slow
def test_memory_stays_flat_over_a_run(tmp_path):
    """RSS of the worker (and of the headless parent) after warm-up; see bench/soak.py."""
    run = tmp_path / "run"
    headless = Headless(run, "--checkpoint-every", "2048")
    pids: list[int] = []
    worker_rss: list[tuple[float, float]] = []
    parent_rss: list[tuple[float, float]] = []
    try:
        headless.wait_for(_running)
        worker = find_worker(headless.pid)
        pids = [worker, *descendants(headless.pid)]
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < 18:
            for pid, samples in ((worker, worker_rss), (headless.pid, parent_rss)):
                value = rss_mb(pid)
                if value is not None:
                    samples.append((elapsed, value))
            time.sleep(0.5)
        headless.process.send_signal(signal.SIGINT)
        rc = headless.finish(timeout=60)
    finally:
        headless.kill()
        kill_all(pids)
    assert rc == 0, headless.stderr
    for name, samples, bound in (("worker", worker_rss, 50), ("parent", parent_rss, 20)):
        warm = statistics.median(v for t, v in samples if 6 <= t < 9)
        end = statistics.median(v for t, v in samples if t >= 15)
        growth = end - warm
        print(f"{name}: {warm:.0f} MB after warm-up, {end:.0f} MB at the end ({growth:+.1f})")
        assert growth < bound, f"{name} RSS grew {growth:.1f} MB in ~9 s"
    assert wait_gone(pids, 10) == []
