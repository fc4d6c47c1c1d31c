"""Three real tiny runs for the compare and export tests, trained once per test session.

Two seeds of one setting and one run of another (a different learning rate),
each by the real ``tetris-tui --headless`` on the placement env, in parallel.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CLI = [sys.executable, "-m", "tetris_tui", "--headless"]
TINY = ["--env", "placement", "--n-envs", "16", "--n-steps", "64", "--batch-size", "256"]
TINY += ["--device", "cpu", "--total-timesteps", "4096", "--eval-every", "1536"]
TINY += ["--eval-games", "1", "--max-pieces", "200", "--fps", "0"]
RUNS = {
    "a-seed1": ["--seed", "1"],
    "a-seed2": ["--seed", "2"],
    "b-seed1": ["--seed", "1", "--learning-rate", "0.003"],
}
_trained: dict[str, Path] = {}


def three_runs(root_factory) -> dict[str, Path]:
    """``{name: run dir}``; ``root_factory`` is pytest's tmp_path_factory."""
    if _trained:
        return _trained
    root = root_factory.mktemp("compare-runs")
    processes = {
        name: subprocess.Popen(
            [*CLI, "--checkpoints", str(root / name), *TINY, *extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, extra in RUNS.items()
    }
    for name, process in processes.items():
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, f"{name}: {err}"
    _trained.update({name: root / name for name in RUNS})
    return _trained
