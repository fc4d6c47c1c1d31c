"""What one ``tetris-tui tune`` command asked for, as one JSON-ready value.

The runner validates it once and hands it to each worker process whole, and
``STUDY_DIR/study.json`` keeps it, so the study screen (and a later run of the
same command) knows the storage and the study's name. Light imports only.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tetris_tui.runs.atomic import atomic_write_json

STUDY_FILE = "study.json"
TUNE_FILE = "tune.json"
DEFAULT_STUDY = "tetris-tui"
DEFAULT_STEPS = 2_000_000
EVALS_PER_TRIAL = 5
# The objective's games: fixed seeds (the same for every trial), capped pieces.
OBJECTIVE_SEED = 20_231
OBJECTIVE_GAMES = 5
OBJECTIVE_PIECES = 2_000


@dataclass(frozen=True)
class TuneSpec:
    study_dir: str
    storage_url: str | None = None
    study_name: str = DEFAULT_STUDY
    sampler: str = "tpe"
    pruner: str = "median"
    seed: int | None = None
    trials_per_worker: int | None = None
    max_trials: int | None = None
    workers: int = 1
    steps_per_trial: int | None = DEFAULT_STEPS
    minutes_per_trial: float | None = None
    eval_every: int = DEFAULT_STEPS // EVALS_PER_TRIAL
    objective_games: int = OBJECTIVE_GAMES
    objective_pieces: int = OBJECTIVE_PIECES
    space: dict[str, Any] = field(default_factory=dict)
    # Extra ``--headless`` options every trial gets (the device, the env, ...).
    trainer_args: list[str] = field(default_factory=list)

    @property
    def dir(self) -> Path:
        return Path(self.study_dir)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TuneSpec:
        return cls(**json.loads(text))


def write_study_file(spec: TuneSpec, storage: str) -> None:
    """``STUDY_DIR/study.json``: the study's name and storage (password redacted)."""
    data = dataclasses.asdict(spec)
    data["storage_url"] = None
    data["storage"] = storage
    atomic_write_json(spec.dir / STUDY_FILE, data)


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def study_label(run_dir: Path) -> str | None:
    """``NAME #7`` for a run that is a trial of a study (its ``tune.json``), else None."""
    data = read_json(run_dir / TUNE_FILE)
    if "study" not in data or "trial" not in data:
        return None
    return f"{data['study']} #{data['trial']}"
