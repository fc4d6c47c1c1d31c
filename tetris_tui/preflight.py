"""Checks made before any process starts, so bad input fails fast in one line."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from tetris_tui.config import Config, ConfigError
from tetris_tui.protocol import LATEST
from tetris_tui.runs.checkpoints import CheckpointError, read_meta


def check_run_dir(run_dir: Path) -> None:
    """The run directory must be a directory we can create and write into."""
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"checkpoints path {run_dir} is a file, not a directory")
    _check_writable(run_dir, f"checkpoints directory {run_dir}")


def _check_writable(folder: Path, what: str) -> None:
    """Create ``folder`` and prove a file can be made in it, before any process starts."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"{what} is not writable ({reason})") from None


def check_device(device: str) -> None:
    """``cuda`` must exist; asked in a subprocess so this process never loads torch."""
    if not device.startswith("cuda"):
        return
    code = "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 3)"
    try:
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"could not check for CUDA: {exc}") from None
    if result.returncode == 3:
        raise ConfigError(f"--device {device}: CUDA is not available on this machine")
    if result.returncode != 0:
        raise ConfigError("--device cuda: torch failed to import; see `python -c 'import torch'`")


def check_ppo_sizes(config: Config) -> None:
    """Sizes stable-baselines3 would only reject (with an assertion) inside the worker."""
    rollout = config.ppo.n_steps * config.num_envs
    if rollout < 2:
        raise ConfigError(f"n_steps x n_envs must be at least 2, got {rollout}")
    if config.ppo.batch_size < 2:
        raise ConfigError(f"batch_size must be at least 2, got {config.ppo.batch_size}")


def check_resume_options(config: Config) -> None:
    """Options an existing run cannot change are refused, naming the saved value.

    Only the env kind: a model trained on one env cannot play the other (its
    observations and actions differ). PPO's hyper-parameters, rewards, the
    number of envs and the piece cap may change on resume, and do.
    """
    try:
        saved = read_meta(config.run_dir / LATEST).get("config", {}).get("env", {}).get("kind")
    except (CheckpointError, AttributeError):
        return  # no run yet, or a damaged one: the worker deals with that
    if saved and saved != config.env.kind:
        raise ConfigError(
            f"--env {config.env.kind}: the run in {config.run_dir} was trained with "
            f"--env {saved}; resume it with --env {saved}, or start a fresh run "
            "with --checkpoints NEW_DIR"
        )


def check_tensorboard(config: Config) -> None:
    """``--tensorboard`` needs the optional extra; said before anything starts."""
    if not config.tensorboard:
        return
    import importlib.util

    if importlib.util.find_spec("tensorboard") is None:
        raise ConfigError(
            "--tensorboard needs TensorBoard, which is not installed: "
            "pip install 'tetris-tui[tensorboard]'"
        )
    folder = Path(config.tensorboard)
    _check_writable(folder, f"--tensorboard {folder}")


def preflight(config: Config) -> None:
    check_tensorboard(config)
    check_ppo_sizes(config)
    check_device(config.device)
    check_run_dir(config.run_dir)
    check_resume_options(config)
