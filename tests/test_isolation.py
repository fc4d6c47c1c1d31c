"""The worker never writes to the terminal; the UI process never loads torch."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys

from tetris_tui.worker.process_setup import redirect_output


def _noisy_child(log_path: str) -> None:
    from pathlib import Path

    redirect_output(Path(log_path))
    print("python print from the worker")
    print("python stderr from the worker", file=sys.stderr)
    os.write(1, b"raw fd 1 write\n")
    os.system("echo subprocess echo; echo subprocess stderr >&2")


def test_worker_output_goes_to_the_log_not_the_terminal(tmp_path, capfd):
    log = tmp_path / "worker.log"
    context = multiprocessing.get_context("spawn")
    child = context.Process(target=_noisy_child, args=(str(log),))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    out, err = capfd.readouterr()
    assert "worker" not in out + err and "subprocess" not in out + err
    text = log.read_text()
    for line in (
        "python print",
        "python stderr",
        "raw fd 1",
        "subprocess echo",
        "subprocess stderr",
    ):
        assert line in text


def test_cli_import_stays_light():
    code = (
        "import sys, tetris_tui.cli, tetris_tui.session.spawned, tetris_tui.headless;"
        "heavy = [m for m in ('torch', 'stable_baselines3', 'tetris_gymnasium', 'jax')"
        " if m in sys.modules]; print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
