"""Loading a saved agent to play or evaluate it (worker side: imports SB3)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tetris_tui.config import ConfigError, EnvConfig
from tetris_tui.runs.checkpoints import MODEL_FILE, CheckpointError, read_meta


def env_config_of(model_dir: Path) -> EnvConfig:
    """The env a checkpoint was trained on (from its meta.json; default if absent)."""
    try:
        env = read_meta(model_dir).get("config", {}).get("env", {})
    except CheckpointError:
        return EnvConfig()
    known = set(EnvConfig.__dataclass_fields__)
    return EnvConfig(**{k: v for k, v in env.items() if k in known})


def with_rules(env_config: EnvConfig, rules: Mapping[str, object] | None) -> EnvConfig:
    """The model's env on the rules asked for (EnvConfig fields; none: its own);
    ConfigError in one line when they cannot be played."""
    if not rules:
        return env_config
    try:
        changed = dataclasses.replace(env_config, **rules)  # type: ignore[arg-type]
    except TypeError as exc:
        raise ConfigError(str(exc)) from None
    changed.validate()
    return changed


def load_for_play(model_dir: Path, device: str = "auto") -> tuple[Any, EnvConfig]:
    """The PPO model and its env config; CheckpointError in one line if it won't load."""
    from stable_baselines3 import PPO

    path = model_dir / MODEL_FILE
    if not path.is_file():
        raise CheckpointError(f"{path}: missing")
    try:
        model = PPO.load(path, device=device)
    except Exception as exc:  # noqa: BLE001 - any load failure is one line for the user
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise CheckpointError(f"{path}: cannot be loaded ({first})") from None
    return model, env_config_of(model_dir)
