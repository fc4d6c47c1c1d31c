"""Run integrity (issue #11) through the command line: env refusal, finished runs, signals."""

from __future__ import annotations

import time


def _cli(*args: str, timeout: float = 180):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "tetris_tui", *args], capture_output=True, text=True, timeout=timeout
    )


FAST_CLI = ["--n-steps", "128", "--batch-size", "64", "--n-envs", "1", "--device", "cpu"]


def test_cli_refuses_a_new_env_kind_and_leaves_a_finished_run_alone(tmp_path):
    run = tmp_path / "run"
    trained = _cli("--headless", "--checkpoints", str(run), "--total-timesteps", "512", *FAST_CLI)
    assert trained.returncode == 0, trained.stderr
    saved = {p: p.read_bytes() for name in ("latest", "final") for p in (run / name).iterdir()}

    again = _cli("--headless", "--checkpoints", str(run), "--total-timesteps", "512", *FAST_CLI)
    assert again.returncode == 0 and again.stderr == ""
    assert again.stdout.splitlines() == [
        "this run finished at 512 timesteps (total 512); "
        "to train further, give a larger --total-timesteps, e.g. 1,024"
    ]

    other = _cli("--headless", "--checkpoints", str(run), "--env", "raw", *FAST_CLI)
    assert other.returncode == 2 and other.stdout == ""
    assert other.stderr.count("\n") == 1, other.stderr
    for needle in ("--env raw", "trained with --env placement", "--checkpoints NEW_DIR"):
        assert needle in other.stderr
    assert {p: p.read_bytes() for p in saved} == saved


def test_a_storm_of_signals_stops_headless_once_and_cleanly(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    run = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "tetris_tui", "--headless", "--checkpoints", str(run), *FAST_CLI],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("[running]"):
            break
    time.sleep(0.5)
    for signum in [signal.SIGINT] * 30 + [signal.SIGTERM] * 10:
        os.kill(process.pid, signum)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "Traceback" not in err and err == ""
    said = [x for x in out.splitlines() if "saving and stopping" in x]
    # Pending signals are handled in signal-number order, so any of them may be first.
    assert len(said) == 1 and said[0].split(":")[0] in ("SIGINT", "SIGTERM")
    assert "[stopped]" in out
    assert (run / "latest" / "model.zip").is_file()
