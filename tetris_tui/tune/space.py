"""The search space: which training options a study varies, and over what.

A parameter is named after its ``--option`` of ``tetris-tui --headless``
(``learning_rate`` is ``--learning-rate``), so a trial is exactly a command
line a user could type, and any training option can be tuned from a space
file without code here. The defaults cover the placement env's knobs that
matter most, network width included (the critic's, and the scorer's: 0 is
linear, as the published records score).

A space file (TOML, or YAML when PyYAML is present) maps names to tables::

    [learning_rate]
    low = 1e-3
    high = 3e-2
    log = true

    [n_envs]
    choices = [64, 128, 256]

and replaces the default space whole (a study varies what the file says).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Options whose values a trial must not choose: the tuner owns them.
_RESERVED = {"checkpoints", "total_timesteps", "eval_every", "seed", "headless", "detach"}


class SpaceError(ValueError):
    """The space (file) is wrong; the message is one line for the user."""


@dataclass(frozen=True)
class Param:
    """One dimension: a float or int range (``log`` for scales), or a list of choices."""

    name: str
    kind: str  # float, int, categorical
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "categorical":
            return {"choices": list(self.choices)}
        return {"type": self.kind, "low": self.low, "high": self.high, "log": self.log}


DEFAULT_SPACE: tuple[Param, ...] = (
    Param("learning_rate", "float", 1e-3, 3e-2, log=True),
    Param("n_envs", "categorical", choices=(64, 128, 256, 512)),
    Param("n_steps", "categorical", choices=(8, 16, 32)),
    Param("batch_size", "categorical", choices=(256, 512, 1024, 2048)),
    Param("n_epochs", "int", 1, 4),
    Param("ent_coef", "float", 1e-4, 3e-2, log=True),
    Param("greedy_average_steps", "categorical", choices=(0, 1_000_000, 4_000_000, 8_000_000)),
    Param("value_width", "categorical", choices=(32, 64, 128, 256)),
    Param("scorer_width", "categorical", choices=(0, 16, 64)),
)


def parse_space(data: Any, known: dict[str, type]) -> tuple[Param, ...]:
    """Params from a decoded space file; ``known``: training option name -> value type."""
    if not isinstance(data, dict) or not data:
        raise SpaceError("a space file maps option names to tables, and names at least one")
    params = []
    for name, spec in data.items():
        name = str(name).replace("-", "_").removeprefix("__")
        if name in _RESERVED or name not in known:
            raise SpaceError(f"{name!r} is not a training option a trial may set")
        if not isinstance(spec, dict):
            raise SpaceError(f"{name}: expected a table (low/high or choices)")
        params.append(_param(name, spec, known[name]))
    return tuple(params)


def _param(name: str, spec: dict[str, Any], value_type: type) -> Param:
    unknown = set(spec) - {"type", "low", "high", "log", "choices"}
    if unknown:
        raise SpaceError(f"{name}: unknown key {sorted(unknown)[0]!r}")
    if "choices" in spec:
        choices = spec["choices"]
        if not isinstance(choices, list) or not choices:
            raise SpaceError(f"{name}: choices must be a non-empty list")
        for choice in choices:
            _check_value(name, choice, value_type)
        return Param(name, "categorical", choices=tuple(choices))
    if "low" not in spec or "high" not in spec:
        raise SpaceError(f"{name}: give low and high, or choices")
    kind = spec.get("type", "int" if value_type is int else "float")
    if kind not in ("int", "float") or (kind == "float" and value_type is int):
        raise SpaceError(
            f"{name}: type must be int or float (the option takes {value_type.__name__})"
        )
    low, high, log = spec["low"], spec["high"], spec.get("log", False)
    for value in (low, high):
        _check_value(name, value, int if kind == "int" else float)
    if not isinstance(log, bool):
        raise SpaceError(f"{name}: log must be true or false")
    if low > high or (log and low <= 0):
        raise SpaceError(f"{name}: need low <= high (and low > 0 with log), got {low}..{high}")
    return Param(
        name,
        kind,
        float(low) if kind == "float" else int(low),
        float(high) if kind == "float" else int(high),
        log,
    )


def _check_value(name: str, value: Any, value_type: type) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if value_type is int:
        ok = ok and float(value).is_integer()
    elif value_type is float:
        ok = ok and math.isfinite(float(value))
    else:
        ok = isinstance(value, (str, int, float))
    if not ok:
        raise SpaceError(f"{name}: {value!r} is not a valid {value_type.__name__}")


def load_space_file(path: Path, known: dict[str, type]) -> tuple[Param, ...]:
    """Read a TOML (``.toml``) or YAML (``.yaml``/``.yml``) space file."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise SpaceError(f"cannot read space file {path}: {exc.strerror or exc}") from None
    suffix = path.suffix.lower()
    try:
        if suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        elif suffix == ".toml":
            try:
                import tomllib
            except ImportError:  # Python 3.10
                raise SpaceError("TOML space files need Python 3.11+; use YAML") from None
            data = tomllib.loads(text)
        else:
            raise SpaceError(f"space file {path}: name it .toml, .yaml or .yml")
    except SpaceError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parse error is the file's fault
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SpaceError(f"space file {path}: {first}") from None
    return parse_space(data, known)


def suggest(trial: Any, space: tuple[Param, ...]) -> dict[str, Any]:
    """Ask an Optuna trial for one point of the space."""
    params: dict[str, Any] = {}
    for p in space:
        if p.kind == "categorical":
            params[p.name] = trial.suggest_categorical(p.name, list(p.choices))
        elif p.kind == "int":
            params[p.name] = trial.suggest_int(p.name, int(p.low), int(p.high), log=p.log)
        else:
            params[p.name] = trial.suggest_float(p.name, p.low, p.high, log=p.log)
    return params


def feasible(params: dict[str, Any], n_envs: int, n_steps: int) -> dict[str, Any]:
    """Fix combinations PPO refuses: a minibatch larger than the rollout shrinks to it.

    TPE needs fixed distributions, so the minibatch cannot be drawn from a range
    that depends on the rollout; it is clamped instead, and the trial records
    the value it actually trained with.
    """
    fixed = dict(params)
    if "batch_size" in fixed:
        rollout = int(fixed.get("n_envs", n_envs)) * int(fixed.get("n_steps", n_steps))
        fixed["batch_size"] = min(int(fixed["batch_size"]), rollout)
    return fixed


def to_cli(params: dict[str, Any]) -> list[str]:
    """The trainer's command-line options for a point of the space."""
    args: list[str] = []
    for name, value in params.items():
        args += [
            f"--{name.replace('_', '-')}",
            repr(value) if isinstance(value, float) else str(value),
        ]
    return args


def training_options() -> dict[str, type]:
    """Every option of ``tetris-tui --headless`` a trial may set: name -> value type."""
    import argparse

    from tetris_tui.cli_options import add_training_options

    parser = argparse.ArgumentParser(add_help=False)
    add_training_options(parser)
    known: dict[str, type] = {}
    for action in parser._actions:  # noqa: SLF001 - argparse has no public list
        if not action.option_strings or action.dest in _RESERVED:
            continue
        if action.type is int:
            known[action.dest] = int
        elif action.choices is not None or action.type in (None, str):
            known[action.dest] = str
        else:
            known[action.dest] = float
    return known


def space_to_dict(space: tuple[Param, ...]) -> dict[str, Any]:
    return {p.name: p.to_dict() for p in space}
