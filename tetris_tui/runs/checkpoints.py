"""The run directory's checkpoints: where they live, how they are written and read.

Layout: ``<run>/{latest,best,final}/`` and ``<run>/slots/<name>/``, each holding
``model.zip`` and ``meta.json``. Saving takes the model object, so this module
imports no torch itself and the UI can list checkpoints cheaply.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import shutil
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from tetris_tui import faults
from tetris_tui.protocol import BEST, FINAL, LATEST
from tetris_tui.runs.atomic import atomic_write_dir, recover_dir
from tetris_tui.runs.atomic import (
    remove_stale_temp_files as _remove_temp_files,
)

MODEL_FILE = "model.zip"
META_FILE = "meta.json"
SLOTS_DIR = "slots"
BUILTIN = (LATEST, BEST, FINAL)
_SLOT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")


class CheckpointError(Exception):
    """A checkpoint cannot be used; the message is one line for the user."""


def validate_slot_name(name: str) -> str:
    """Slot names are short, filesystem-safe and never one of the built-in names."""
    if not _SLOT_NAME.match(name or ""):
        raise CheckpointError(
            f"bad slot name {name!r}: use 1-40 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if name in BUILTIN:
        raise CheckpointError(f"{name!r} is reserved; pick another slot name")
    return name


def checkpoint_dir(run_dir: Path, which: str) -> Path:
    """``latest``/``best``/``final`` live at the top, anything else under slots/."""
    if which in BUILTIN:
        return run_dir / which
    return run_dir / SLOTS_DIR / validate_slot_name(which)


def save_checkpoint(model: Any, run_dir: Path, which: str, meta: dict[str, Any]) -> Path:
    """Save ``model`` and its meta as one unit; returns the model path.

    Both files are written into a fresh folder that then replaces the old one
    (``atomic_write_dir``), so ``model.zip`` and ``meta.json`` always come from
    the same save. The meta also names the model's SHA-256, checked on resume.
    """
    directory = checkpoint_dir(run_dir, which)
    faults.check_save(directory / MODEL_FILE)
    buffer = io.BytesIO()
    model.save(buffer)
    write_checkpoint(directory, buffer.getvalue(), {**meta, "which": which})
    return directory / MODEL_FILE


def write_checkpoint(directory: Path, model_bytes: bytes, meta: dict[str, Any]) -> None:
    """``model.zip`` and ``meta.json`` into ``directory``, replacing it as one unit."""
    meta = {**meta, "saved_at": time.time(), "model_sha256": _sha256(model_bytes)}
    meta_bytes = (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode()
    atomic_write_dir(directory, {MODEL_FILE: model_bytes, META_FILE: meta_bytes})


def check_model_matches_meta(directory: Path, meta: dict[str, Any]) -> None:
    """CheckpointError when ``meta.json`` names another model than the one beside it."""
    expected = meta.get("model_sha256")
    if not expected:
        return  # written by an older version: nothing to check against
    path = directory / MODEL_FILE
    try:
        actual = _sha256(path.read_bytes())
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot be read ({_short(exc)})") from None
    if actual != expected:
        raise CheckpointError(f"{path}: does not match its meta.json (another save's model)")


def recover_checkpoints(run_dir: Path) -> list[str]:
    """Put back any checkpoint whose save was cut short by a kill; returns their names.

    Call it in the process that holds the run's worker lock, before it saves.
    """
    directories = [run_dir / name for name in BUILTIN]
    slots = run_dir / SLOTS_DIR
    if slots.is_dir():
        names = {p.name.split(".")[1] for p in slots.iterdir() if p.name.startswith(".")}
        directories += [slots / name for name in sorted(names) if _SLOT_NAME.match(name)]
    return [d.name for d in directories if recover_dir(d) is not None]


def read_meta(directory: Path) -> dict[str, Any]:
    """The checkpoint's meta.json, or CheckpointError saying what is wrong with it."""
    path = directory / META_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing") from None
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not valid JSON ({_short(exc)})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: not a JSON object")
    return data


def quarantine(directory: Path, reason: str) -> Path:
    """Move a damaged checkpoint aside (never delete it) and note why beside it."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = directory.with_name(f"{directory.name}.bad-{stamp}")
    counter = 1
    while target.exists():
        counter += 1
        target = directory.with_name(f"{directory.name}.bad-{stamp}-{counter}")
    directory.rename(target)
    with contextlib.suppress(OSError):  # a full disk: moved aside is what matters
        (target / "WHY.txt").write_text(reason + "\n")
    return target


def remove_stale_temp_files(run_dir: Path) -> list[Path]:
    """Temp files of writers killed mid-save, in every checkpoint directory, deleted.

    They are never mistaken for checkpoints (those are ``model.zip`` and
    ``meta.json`` only), but each can be as big as a model. Call it before this
    process writes any checkpoint.
    """
    directories = [run_dir, *(run_dir / name for name in BUILTIN)]
    slots = run_dir / SLOTS_DIR
    if slots.is_dir():
        directories += [p for p in slots.iterdir() if p.is_dir()]
    removed: list[Path] = []
    for directory in directories:
        removed += _remove_temp_files(directory)
    return removed


def package_versions() -> dict[str, str]:
    """Versions that matter for loading a checkpoint later."""
    names = ("tetris-tui", "stable-baselines3", "torch", "tetris-gymnasium", "gymnasium", "numpy")
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "?"
    return versions


@dataclass(frozen=True)
class CheckpointInfo:
    """One row of the models table."""

    name: str
    path: Path
    timesteps: int
    episodes: int
    best_lines: float | None
    lines_mean: float | None
    saved_at: float | None
    env_kind: str
    ok: bool = True
    problem: str = ""


def list_checkpoints(run_dir: Path) -> list[CheckpointInfo]:
    """Every checkpoint in the run directory: built-ins first, then slots by name."""
    found: list[tuple[str, Path]] = [(n, run_dir / n) for n in BUILTIN]
    slots = run_dir / SLOTS_DIR
    if slots.is_dir():
        found += [(p.name, p) for p in sorted(slots.iterdir()) if p.is_dir()]
    rows = []
    for name, directory in found:
        if not (directory / MODEL_FILE).is_file():
            continue
        rows.append(describe(name, directory))
    return rows


def describe(name: str, directory: Path) -> CheckpointInfo:
    """Summarise a checkpoint from its meta.json (a bad meta still gives a row)."""
    try:
        meta = read_meta(directory)
    except CheckpointError as exc:
        return CheckpointInfo(name, directory, 0, 0, None, None, None, "?", False, str(exc))
    return CheckpointInfo(
        name=name,
        path=directory,
        timesteps=int(meta.get("timesteps", 0)),
        episodes=int(meta.get("episodes", 0)),
        best_lines=meta.get("best_lines_mean"),
        lines_mean=meta.get("lines_mean"),
        saved_at=meta.get("saved_at"),
        env_kind=_env_label(meta),
    )


def _env_label(meta: dict[str, Any]) -> str:
    """The env kind, then its rule set unless the default (``placement research 10x10``)."""
    from tetris_tui.runs.listing import rules_label

    kind = str(meta.get("config", {}).get("env", {}).get("kind", "?"))
    rules = rules_label(meta)
    return kind if rules == "gymnasium" else f"{kind} {rules}"


def resolve_model(run_dir: Path, name_or_path: str) -> Path:
    """Find the checkpoint directory a user means: a built-in, a slot, or a path."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".zip" and candidate.is_file():
        return candidate.parent
    if candidate.is_dir() and (candidate / MODEL_FILE).is_file():
        return candidate
    if name_or_path in BUILTIN or _SLOT_NAME.match(name_or_path):
        directory = (
            run_dir / name_or_path
            if name_or_path in BUILTIN
            else run_dir / SLOTS_DIR / name_or_path
        )
        if (directory / MODEL_FILE).is_file():
            return directory
    raise CheckpointError(f"no model {name_or_path!r} in {run_dir} (try `tetris-tui models`)")


def copy_checkpoint(source: Path, run_dir: Path, slot: str, overwrite: bool = False) -> Path:
    """Copy a checkpoint into a named slot; refuses to overwrite unless asked.

    An overwritten slot stays whole until the copy is complete (one-unit write).
    """
    target = checkpoint_dir(run_dir, validate_slot_name(slot))
    if target.exists() and not overwrite:
        raise CheckpointError(f"slot {slot!r} exists already")
    meta_path = source / META_FILE
    meta = read_meta(source) if meta_path.exists() else {}
    meta = {**meta, "which": slot, "copied_from": source.name}
    write_checkpoint(target, (source / MODEL_FILE).read_bytes(), meta)
    return target


def rename_slot(run_dir: Path, old: str, new: str) -> Path:
    source = checkpoint_dir(run_dir, validate_slot_name(old))
    target = checkpoint_dir(run_dir, validate_slot_name(new))
    if not source.is_dir():
        raise CheckpointError(f"no slot {old!r}")
    if target.exists():
        raise CheckpointError(f"slot {new!r} exists already")
    source.rename(target)
    return target


def delete_slot(run_dir: Path, name: str) -> None:
    directory = checkpoint_dir(run_dir, validate_slot_name(name))
    if not directory.is_dir():
        raise CheckpointError(f"no slot {name!r}")
    shutil.rmtree(directory)


def finished_message(timesteps: int, total: int) -> str:
    """One line for a run that already reached its total: what happened, what to do."""
    return (
        f"this run finished at {timesteps:,} timesteps (total {total:,}); "
        f"to train further, give a larger --total-timesteps, e.g. {2 * max(timesteps, 1):,}"
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
