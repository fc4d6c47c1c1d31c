"""Unit tests: checkpoints on disk, atomic writes, run locks, fault hooks (the run log:
test_runlog.py)."""

from __future__ import annotations

import errno
import json
import os
import stat
import time
from pathlib import Path

import pytest
from checkpoint_helpers import FakeModel

from tetris_tui import faults
from tetris_tui.runs import atomic
from tetris_tui.runs.atomic import atomic_write_bytes, atomic_write_json
from tetris_tui.runs.checkpoints import (
    CheckpointError,
    checkpoint_dir,
    copy_checkpoint,
    delete_slot,
    list_checkpoints,
    quarantine,
    read_meta,
    remove_stale_temp_files,
    rename_slot,
    resolve_model,
    save_checkpoint,
    validate_slot_name,
)
from tetris_tui.runs.runlock import WORKER_LOCK_FILE, RunLock, RunLockedError


def _dead_pid() -> int:
    """A pid that runs nothing (a child that has exited and been reaped)."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


# -- atomic writes ----------------------------------------------------------------------------


def test_atomic_write_replaces_whole_and_leaves_no_temp(tmp_path):
    path = tmp_path / "d" / "model.zip"
    atomic_write_bytes(path, b"one")
    atomic_write_bytes(path, b"two")
    assert path.read_bytes() == b"two"
    assert [p.name for p in path.parent.iterdir()] == ["model.zip"]
    atomic_write_json(tmp_path / "meta.json", {"b": 1, "a": [1, 2]})
    assert json.loads((tmp_path / "meta.json").read_text()) == {"a": [1, 2], "b": 1}


def test_atomic_write_honours_the_umask_not_mkstemp_0600(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "f", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o644


def test_failed_atomic_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "model.zip"
    atomic_write_bytes(path, b"good")

    def no_room(*_args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", no_room)
    with pytest.raises(OSError):
        atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"good"
    assert [p.name for p in tmp_path.iterdir()] == ["model.zip"]


def test_temp_names_carry_the_writer_pid(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace
    monkeypatch.setattr(atomic.os, "replace", lambda a, b: (seen.append(a), real_replace(a, b)))
    atomic_write_bytes(tmp_path / "model.zip", b"x")
    name = Path(seen[0]).name
    assert name.startswith(f".model.zip.{os.getpid()}.") and name.endswith(".tmp")


def test_stale_temp_files_are_swept_and_live_ones_kept(tmp_path):
    run = tmp_path / "run"
    for sub in ("latest", "best", "slots/keep"):
        (run / sub).mkdir(parents=True)
    dead = _dead_pid()
    stale = [
        run / "latest" / f".model.zip.{dead}.abc123.tmp",
        run / "best" / f".meta.json.{dead}.xyz.tmp",
        run / "slots" / "keep" / f".model.zip.{dead}.q.tmp",
        run / "latest" / f".model.zip.{os.getpid()}.own.tmp",  # ours: we write none yet
    ]
    old_unnamed = run / "latest" / ".model.zip.oldstyle.tmp"
    live = run / "latest" / f".model.zip.{os.getppid()}.busy.tmp"
    young_unnamed = run / "latest" / ".model.zip.young.tmp"
    model = run / "latest" / "model.zip"
    for path in [*stale, old_unnamed, live, young_unnamed, model]:
        path.write_bytes(b"partial")
    week_ago = time.time() - 7 * 86400
    os.utime(old_unnamed, (week_ago, week_ago))

    removed = remove_stale_temp_files(run)
    assert sorted(removed) == sorted([*stale, old_unnamed])
    assert live.exists() and young_unnamed.exists() and model.exists()
    assert remove_stale_temp_files(tmp_path / "missing") == []


# -- saving and reading ------------------------------------------------------------------------


def test_save_checkpoint_writes_model_and_meta(tmp_path):
    path = save_checkpoint(FakeModel(7), tmp_path, "latest", {"timesteps": 7})
    assert path == tmp_path / "latest" / "model.zip"
    assert path.read_bytes() == b"PK-model-bytes"
    meta = read_meta(tmp_path / "latest")
    assert meta["timesteps"] == 7 and meta["which"] == "latest" and meta["saved_at"] > 0
    slot = save_checkpoint(FakeModel(), tmp_path, "mine", {})
    assert slot == tmp_path / "slots" / "mine" / "model.zip"


def test_save_fails_fault_is_a_disk_full_error(tmp_path, monkeypatch):
    save_checkpoint(FakeModel(1, b"old"), tmp_path, "latest", {"timesteps": 1})
    monkeypatch.setenv(faults.ENV_VAR, "save-fails")
    with pytest.raises(OSError) as caught:
        save_checkpoint(FakeModel(2, b"new"), tmp_path, "latest", {"timesteps": 2})
    assert caught.value.errno == errno.ENOSPC
    assert (tmp_path / "latest" / "model.zip").read_bytes() == b"old"
    assert read_meta(tmp_path / "latest")["timesteps"] == 1


def test_read_meta_says_what_is_wrong(tmp_path):
    with pytest.raises(CheckpointError, match="meta.json: missing"):
        read_meta(tmp_path)
    (tmp_path / "meta.json").write_text("{torn")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        read_meta(tmp_path)
    (tmp_path / "meta.json").write_text("[1, 2]")
    with pytest.raises(CheckpointError, match="not a JSON object"):
        read_meta(tmp_path)
    (tmp_path / "meta.json").write_text('{"timesteps": 3}')
    assert read_meta(tmp_path) == {"timesteps": 3}


def test_quarantine_moves_aside_with_a_reason_and_never_clobbers(tmp_path):
    first = tmp_path / "latest"
    first.mkdir()
    (first / "model.zip").write_bytes(b"broken")
    moved = quarantine(first, "model.zip: not a zip file")
    assert not first.exists()
    assert moved.name.startswith("latest.bad-")
    assert (moved / "model.zip").read_bytes() == b"broken"
    assert (moved / "WHY.txt").read_text() == "model.zip: not a zip file\n"
    # A second damaged latest within the same second gets its own name.
    first.mkdir()
    (first / "model.zip").write_bytes(b"broken again")
    again = quarantine(first, "second")
    assert again != moved and again.exists() and moved.exists()
    assert (moved / "model.zip").read_bytes() == b"broken"


@pytest.mark.parametrize("name", ["a", "run-1", "v2.final_ok", "X" * 40, "9lives"])
def test_good_slot_names(name):
    assert validate_slot_name(name) == name
    assert checkpoint_dir(Path("r"), name) == Path("r") / "slots" / name


@pytest.mark.parametrize(
    "name",
    ["", ".hidden", "-dash", "../up", "a/b", "a b", "X" * 41, "latest", "best", "final", "é"],
)
def test_bad_slot_names(name):
    with pytest.raises(CheckpointError):
        validate_slot_name(name)


def test_builtin_names_live_at_the_top():
    assert checkpoint_dir(Path("r"), "latest") == Path("r") / "latest"
    assert checkpoint_dir(Path("r"), "final") == Path("r") / "final"


def test_list_checkpoints_builtins_first_then_slots_and_bad_meta_flagged(tmp_path):
    save_checkpoint(FakeModel(10), tmp_path, "zeta", {"timesteps": 10})
    save_checkpoint(FakeModel(20), tmp_path, "alpha", {"timesteps": 20})
    save_checkpoint(
        FakeModel(30),
        tmp_path,
        "latest",
        {"timesteps": 30, "episodes": 5, "config": {"env": {"kind": "raw"}}},
    )
    save_checkpoint(FakeModel(40), tmp_path, "best", {"timesteps": 40})
    (tmp_path / "best" / "meta.json").write_text("{torn")
    (tmp_path / "final").mkdir()  # no model.zip: not a checkpoint
    (tmp_path / "latest.bad-20240101-000000").mkdir()
    (tmp_path / "latest.bad-20240101-000000" / "model.zip").write_bytes(b"x")
    rows = list_checkpoints(tmp_path)
    assert [r.name for r in rows] == ["latest", "best", "alpha", "zeta"]
    latest, best = rows[0], rows[1]
    assert latest.ok and latest.timesteps == 30 and latest.episodes == 5
    assert latest.env_kind == "raw"
    assert not best.ok and "not valid JSON" in best.problem
    assert list_checkpoints(tmp_path / "nothing") == []


def test_resolve_copy_rename_delete(tmp_path):
    save_checkpoint(FakeModel(5), tmp_path, "latest", {"timesteps": 5})
    assert resolve_model(tmp_path, "latest") == tmp_path / "latest"
    assert resolve_model(tmp_path, str(tmp_path / "latest" / "model.zip")) == tmp_path / "latest"
    with pytest.raises(CheckpointError, match="no model 'nope'"):
        resolve_model(tmp_path, "nope")
    kept = copy_checkpoint(tmp_path / "latest", tmp_path, "keep")
    assert read_meta(kept)["copied_from"] == "latest"
    with pytest.raises(CheckpointError, match="exists already"):
        copy_checkpoint(tmp_path / "latest", tmp_path, "keep")
    renamed = rename_slot(tmp_path, "keep", "kept")
    assert resolve_model(tmp_path, "kept") == renamed
    delete_slot(tmp_path, "kept")
    assert not renamed.exists()
    with pytest.raises(CheckpointError):
        delete_slot(tmp_path, "kept")


# -- run locks ---------------------------------------------------------------------------------


def test_run_lock_refuses_a_second_holder_naming_the_first(tmp_path):
    first = RunLock(tmp_path)
    first.acquire()
    try:
        with pytest.raises(RunLockedError, match=f"pid {os.getpid()}"):
            RunLock(tmp_path).acquire()
    finally:
        first.release()
    again = RunLock(tmp_path)
    again.acquire()
    assert again.held
    again.release()
    assert not again.held


def test_run_lock_refuses_beside_a_trainer_whose_app_is_gone(tmp_path):
    worker = RunLock(tmp_path, WORKER_LOCK_FILE)
    worker.acquire()
    try:
        with pytest.raises(RunLockedError, match="a trainer is running in .*tetris-tui attach"):
            RunLock(tmp_path).acquire()
    finally:
        worker.release()
    app = RunLock(tmp_path)
    app.acquire()  # the probe does not keep the worker lock: a worker can take it now
    worker.acquire()
    worker.release()
    app.release()


# -- fault hooks -------------------------------------------------------------------------------


def test_fault_spec_parsing(monkeypatch):
    monkeypatch.delenv(faults.ENV_VAR, raising=False)
    assert faults.active() == {} and faults.raise_at_step() is None
    faults.check_save(Path("x"))  # no fault, no error
    monkeypatch.setenv(faults.ENV_VAR, "raise-at-step:300, save-fails")
    assert faults.active() == {"raise-at-step": "300", "save-fails": ""}
    assert faults.raise_at_step() == 300
    monkeypatch.setenv(faults.ENV_VAR, "raise-at-step:soon")
    with pytest.raises(ValueError, match="needs a timestep"):
        faults.raise_at_step()
    monkeypatch.setenv(faults.ENV_VAR, "explode")
    with pytest.raises(ValueError, match="unknown fault"):
        faults.active()


# -- finished runs -----------------------------------------------------------------------------


def test_a_run_is_finished_at_its_total_or_at_its_target_for_this_start():
    from tetris_tui.runs.finished import WINDOW_GAMES, finished_reason
    from tetris_tui.worker.game_stats import WINDOW

    assert WINDOW_GAMES == WINDOW
    meta = {"timesteps": 5000, "lines_mean": 2.5, "window_games": WINDOW}
    assert "finished at 5,000 timesteps" in (finished_reason(meta, 5000) or "")
    line = finished_reason(meta, 10_000, target_lines=2.0)
    assert line is not None and "reached its target" in line and "\n" not in line
    assert finished_reason(meta, 10_000, target_lines=2.5) is not None  # at the target
    assert finished_reason(meta, 10_000, target_lines=3.0) is None  # a higher target trains on
    assert finished_reason(meta, 10_000) is None  # so does none
    partial = {**meta, "window_games": WINDOW - 1}  # the target needs a full window
    assert finished_reason(partial, 10_000, target_lines=2.0) is None
    assert finished_reason({"timesteps": "x"}, 10_000, target_lines=2.0) is None


def test_run_finished_reads_latest(tmp_path):
    from tetris_tui.runs.finished import run_finished

    assert run_finished(tmp_path, 100, target_lines=1.0) is None  # nothing saved yet
    meta = {"timesteps": 50, "lines_mean": 1.5, "window_games": 100}
    save_checkpoint(FakeModel(50), tmp_path, "latest", meta)
    assert run_finished(tmp_path, 100) is None
    assert "reached its target" in (run_finished(tmp_path, 100, target_lines=1.0) or "")
