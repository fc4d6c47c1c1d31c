"""The command line through the real program: headless runs and bad input."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "tetris_tui"]
FAST = ["--n-steps", "128", "--batch-size", "64", "--n-envs", "1", "--device", "cpu"]
KNOWN_LINE = re.compile(
    r"^(\[\w+\]|game #|games #|saved |new best|resuming|target reached|warning: |eval at |"
    r"\s*[\d,]+ steps|SIG\w+: )"
)


def run_cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


def test_headless_run_leaves_a_loadable_final_checkpoint(tmp_path):
    run = tmp_path / "x"
    result = run_cli("--headless", "--total-timesteps", "4096", "--checkpoints", str(run), *FAST)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines and all(KNOWN_LINE.match(line) for line in lines), lines
    assert any(line.startswith("[finished]") for line in lines)
    meta = json.loads((run / "final" / "meta.json").read_text())
    assert meta["timesteps"] >= 4096
    records = [json.loads(x) for x in (run / "events.jsonl").read_text().splitlines()]
    assert any(r["kind"] == "episode" for r in records)
    check = (
        "from stable_baselines3 import PPO; import sys;"
        f"m = PPO.load({str(run / 'final' / 'model.zip')!r}); print(m.num_timesteps)"
    )
    loaded = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr
    assert int(loaded.stdout.split()[-1]) >= 4096


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_headless_signal_stops_with_a_checkpoint(tmp_path, signum):
    run = tmp_path / "sig"
    process = subprocess.Popen(
        [*CLI, "--headless", "--env", "raw", "--checkpoints", str(run), *FAST],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    for line in process.stdout:
        if line.startswith("[running]") or time.monotonic() > deadline:
            break
    time.sleep(1.0)
    process.send_signal(signum)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "[stopped]" in out
    assert (run / "latest" / "model.zip").is_file()
    assert "Traceback" not in err


BAD_OPTIONS = [
    (["--total-timesteps", "0"], "total_timesteps must be > 0"),
    (["--total-timesteps", "-5"], "total_timesteps must be > 0"),
    (["--n-envs", "0"], "n_envs must be > 0"),
    (["--device", "tpu"], "unknown device"),
    (["--device", "cuda"], "CUDA is not available"),
    (["--env", "nes"], "invalid choice"),
    (["--total-timesteps", "lots"], "invalid int value"),
    (["--no-such-option"], "unrecognized arguments"),
    (["--value-width", "0"], "value_width must be > 0"),
    (["--scorer-width", "-1"], "scorer_width must be >= 0"),
]


@pytest.mark.parametrize(("args", "message"), BAD_OPTIONS)
def test_bad_options_exit_2_with_one_line(tmp_path, args, message):
    if "cuda" in args and _has_cuda():
        pytest.skip("this machine has CUDA")
    result = run_cli("--headless", "--checkpoints", str(tmp_path / "r"), *args, timeout=120)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert message in result.stderr
    assert not (tmp_path / "r").exists()


def test_run_directory_that_is_a_file_or_read_only(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    result = run_cli("--headless", "--checkpoints", str(afile))
    assert result.returncode == 2 and "is a file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    unwritable = Path("/proc/tetris-tui-test/run")  # no one may create files in /proc
    result = run_cli("--headless", "--checkpoints", str(unwritable))
    assert result.returncode == 2 and "not writable" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def _has_cuda() -> bool:
    return Path("/proc/driver/nvidia").exists()


def test_reward_options_reach_the_env_config():
    from tetris_tui.cli import build_parser
    from tetris_tui.cli_options import config_from_args

    args = ["--reward-line", "2.5", "--reward-alive", "0", "--reward-game-over", "-3"]
    env = config_from_args(build_parser().parse_args(args)).env
    assert (env.reward_line, env.reward_alive, env.reward_game_over) == (2.5, 0.0, -3.0)
    result = run_cli("--headless", "--reward-line", "inf")
    assert result.returncode == 2 and "finite" in result.stderr


def test_help_lists_the_subcommands():
    result = run_cli("--help", timeout=60)
    assert result.returncode == 0
    from tetris_tui.subcommands import SUBCOMMANDS

    for command in SUBCOMMANDS:
        assert re.search(rf"^\s+{command.NAME}\s+\S", result.stdout, re.M), command.NAME


def test_run_dir_option_goes_before_or_after_the_subcommand(tmp_path):
    run = tmp_path / "run"
    (run / "latest").mkdir(parents=True)
    (run / "latest" / "model.zip").write_bytes(b"x")
    (run / "latest" / "meta.json").write_text(json.dumps({"timesteps": 4321, "episodes": 7}))
    for args in (["--checkpoints", str(run), "models"], ["models", "--checkpoints", str(run)]):
        result = run_cli(*args, timeout=60)
        assert result.returncode == 0, result.stderr
        assert "4,321" in result.stdout or "4321" in result.stdout, result.stdout
    missing = run_cli("--checkpoints", str(tmp_path / "none"), "models", timeout=60)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert "no run directory" in missing.stderr


def test_cli_modules_import_no_cycle():
    """Sub-commands and the shared options never import the top-level parser."""
    import ast

    package = Path(__file__).resolve().parents[1] / "tetris_tui"
    for path in [package / "cli_options.py", *(package / "subcommands").glob("*.py")]:
        tree = ast.parse(path.read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)} | {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        assert "tetris_tui.cli" not in imported, path


MISPLACED = [
    (["--total-timesteps", "0", "models"], "--total-timesteps before `models`"),
    (["--device", "cuda", "--seed", "3", "ls"], "--device, --seed before `ls`"),
    (["--env=raw", "play", "best"], "--env before `play`"),
]


@pytest.mark.parametrize(("args", "message"), MISPLACED)
def test_training_options_before_a_subcommand_are_refused(tmp_path, args, message):
    result = run_cli("--checkpoints", str(tmp_path), *args, timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_shared_options_before_a_subcommand_still_work(tmp_path):
    result = run_cli(
        "--checkpoints", str(tmp_path), "models", "--checkpoints", "models", timeout=60
    )
    assert result.returncode == 2 and "no run directory models" in result.stderr
    result = run_cli("--checkpoints", str(tmp_path), "ls", str(tmp_path), timeout=60)
    assert result.returncode == 0, result.stderr


def test_read_only_with_no_live_trainer_is_refused(tmp_path):
    run = tmp_path / "run"
    result = run_cli("--read-only", "--checkpoints", str(run), timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "--read-only watches a live trainer, and none runs" in result.stderr
    assert not run.exists()  # nothing was started or created


def test_play_on_a_missing_cuda_is_refused_before_start_up(tmp_path):
    if _has_cuda():
        pytest.skip("this machine has CUDA")
    (tmp_path / "latest").mkdir()
    (tmp_path / "latest" / "model.zip").write_bytes(b"not loaded: refused before")
    (tmp_path / "latest" / "meta.json").write_text("{}")
    for args in (["play", "latest"], ["play", "latest", "--headless"]):
        result = run_cli(*args, "--device", "cuda", "--checkpoints", str(tmp_path), timeout=120)
        assert result.returncode == 2 and result.stdout == ""
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "CUDA is not available" in result.stderr
