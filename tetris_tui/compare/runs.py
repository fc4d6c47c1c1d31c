"""Runs side by side: which runs to draw, under which names, and which are one setting.

Two runs are one *setting* when their saved configs (``meta.json``) agree on
everything that shapes learning: env, rewards, PPO, games in parallel. The
seed, where the run lives and how it was watched or saved do not count, so
seeds of one setting group together and the group is drawn as its mean with
a band for the spread. Free of Textual and torch: the UI and export share it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tetris_tui.curves.reader import EVENTS_FILE, RunCurve, read_curve
from tetris_tui.protocol import BEST, FINAL, LATEST
from tetris_tui.runs.checkpoints import META_FILE

# Top-level config fields that do not change what is learned.
NOT_THE_SETTING = frozenset(
    {
        "seed",
        "run_dir",
        "total_timesteps",
        "device",
        "torch_threads",
        "checkpoint_every",
        "fps",
        "metrics_hz",
        "step_delay",
        "watch",
        "view",
        "pace",
        "target_lines",
        "eval_every",
        "eval_games",
        "tensorboard",
        "csv",
        "env_procs",
        "vec_env",
    }
)


class CompareError(ValueError):
    """A run cannot be compared; the message is one line for the user."""


@dataclass
class Run:
    """One run directory: its name on the chart, its saved config and its curve."""

    path: Path
    name: str
    config: dict[str, Any]
    curve: RunCurve

    @property
    def seed(self) -> Any:
        return self.config.get("seed")

    @property
    def setting(self) -> str:
        """The config minus what does not change learning, as a comparable key."""
        if not self.config:
            return f"unknown:{self.path.resolve()}"  # no saved config: a setting of its own
        kept = {k: v for k, v in self.config.items() if k not in NOT_THE_SETTING}
        return json.dumps(kept, sort_keys=True, default=str)


@dataclass
class Group:
    """Runs of one setting (one run when not grouping)."""

    runs: list[Run] = field(default_factory=list)

    @property
    def name(self) -> str:
        if len(self.runs) == 1:
            return self.runs[0].name
        return f"{self.runs[0].name} +{len(self.runs) - 1} ({len(self.runs)} seeds)"


def saved_config(run_dir: Path) -> dict[str, Any]:
    """The config of the newest checkpoint that has one; {} when none is readable."""
    for which in (LATEST, FINAL, BEST):
        try:
            meta = json.loads((run_dir / which / META_FILE).read_text())
        except (OSError, ValueError):
            continue
        config = meta.get("config") if isinstance(meta, dict) else None
        if isinstance(config, dict):
            return config
    return {}


def load_run(run_dir: Path) -> Run:
    """A run's config and whole curve; CompareError when it is not a run."""
    if not run_dir.is_dir():
        raise CompareError(f"no run directory {run_dir}")
    if not (run_dir / EVENTS_FILE).is_file():
        raise CompareError(f"{run_dir} is not a run (no {EVENTS_FILE})")
    return Run(run_dir, run_dir.name, saved_config(run_dir), read_curve(run_dir))


def load_runs(paths: list[Path]) -> list[Run]:
    """Each run once (by its real path), named by the shortest unambiguous path tail."""
    runs: list[Run] = []
    seen: set[Path] = set()
    for path in paths:
        real = path.resolve()
        if real not in seen:
            seen.add(real)
            runs.append(load_run(path))
    name_runs(runs)
    return runs


def name_runs(runs: list[Run]) -> None:
    """``run`` alone, or ``a/run`` and ``b/run`` when two end the same."""
    for depth in range(1, 6):
        names = ["/".join(run.path.resolve().parts[-depth:]) for run in runs]
        if len(set(names)) == len(names) or depth == 5:
            for run, name in zip(runs, names, strict=True):
                run.name = name
            return


def group_runs(runs: list[Run], by_setting: bool) -> list[Group]:
    """One group per setting (first seen first), or one per run."""
    if not by_setting:
        return [Group([run]) for run in runs]
    groups: dict[str, Group] = {}
    for run in runs:
        groups.setdefault(run.setting, Group()).runs.append(run)
    return list(groups.values())
