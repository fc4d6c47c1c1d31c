"""Best model, target lines, slots and the models/play commands, through the real worker."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import collect_until, of_kind, small_config

from tetris_tui.config import EnvConfig
from tetris_tui.protocol import FINISHED, STOPPED, Checkpoint, SaveSlot, Status
from tetris_tui.runs.checkpoints import (
    CheckpointError,
    copy_checkpoint,
    delete_slot,
    list_checkpoints,
    rename_slot,
    validate_slot_name,
)


def _ended(events):
    return any(isinstance(e, Status) and e.state in (FINISHED, STOPPED) for e in events)


# How best and the target are judged (full windows, carried across resumes) is tested
# in test_run_integrity.py.


def test_resumed_run_never_overwrites_a_better_best(session, run_dir):
    placement = EnvConfig(kind="placement")
    session.start(small_config(run_dir, total_timesteps=3072, env=placement))
    collect_until(session, _ended, timeout=120)
    session.stop()
    best_meta = run_dir / "best" / "meta.json"
    meta = json.loads(best_meta.read_text())
    meta["best_lines_mean"] = meta["lines_mean"] = 999.0  # a far better best, from "earlier"
    best_meta.write_text(json.dumps(meta))
    model_bytes = (run_dir / "best" / "model.zip").read_bytes()

    session.start(small_config(run_dir, total_timesteps=5120, env=placement))
    events = collect_until(session, _ended, timeout=120)
    assert not [c for c in of_kind(events, Checkpoint) if c.which == "best"]
    assert json.loads(best_meta.read_text())["best_lines_mean"] == 999.0
    assert (run_dir / "best" / "model.zip").read_bytes() == model_bytes


def test_save_slot_command_while_training(session, run_dir):
    session.start(small_config(run_dir))
    collect_until(session, lambda ev: any(e.kind == "metrics" for e in ev), timeout=60)
    session.send(SaveSlot("keeper"))
    session.send(SaveSlot("../evil"))
    events = collect_until(
        session, lambda ev: any(getattr(e, "which", "") == "keeper" for e in ev), timeout=30
    )
    assert (run_dir / "slots" / "keeper" / "model.zip").is_file()
    warnings = collect_until(session, lambda ev: any(e.kind == "warning" for e in ev), 10, events)
    assert any("bad slot name" in e.text for e in warnings if e.kind == "warning")
    assert not (run_dir / "evil").exists()


def test_slots_copy_list_rename_delete_and_refuse_bad_names(session, run_dir):
    session.start(small_config(run_dir, total_timesteps=256))
    collect_until(session, _ended, timeout=90)
    copy_checkpoint(run_dir / "latest", run_dir, "first")
    with pytest.raises(CheckpointError, match="exists"):
        copy_checkpoint(run_dir / "latest", run_dir, "first")
    for bad in ("", "a/b", "..", ".hidden", "latest", "x" * 41, "with space"):
        with pytest.raises(CheckpointError):
            validate_slot_name(bad)
    rename_slot(run_dir, "first", "second")
    names = [row.name for row in list_checkpoints(run_dir)]
    assert "second" in names and "first" not in names and names[:1] == ["latest"]
    delete_slot(run_dir, "second")
    assert "second" not in [row.name for row in list_checkpoints(run_dir)]

    result = subprocess.run(
        [sys.executable, "-m", "tetris_tui", "models", "--checkpoints", str(run_dir)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0
    header, *rows = result.stdout.splitlines()
    assert header.split()[:3] == ["model", "timesteps", "games"]
    assert {r.split()[0] for r in rows} >= {"latest", "final"}
    assert "256" in result.stdout


def test_play_headless_prints_games_and_a_summary(session, run_dir):
    session.start(small_config(run_dir, total_timesteps=256))
    collect_until(session, _ended, timeout=90)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tetris_tui",
            "play",
            "final",
            "--checkpoints",
            str(run_dir),
            "--headless",
            "--games",
            "3",
            "--seed",
            "4",
            "--max-pieces",
            "300",
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [x.split(":")[0] for x in lines if x.startswith("game ")] == [
        "game 1",
        "game 2",
        "game 3",
    ]
    assert lines[-1].startswith("summary: games=3 mean=")


@pytest.mark.parametrize("model", ["nosuchslot", "../../etc"])
def test_play_unknown_model_exits_2_with_one_line(tmp_path, model):
    result = subprocess.run(
        [sys.executable, "-m", "tetris_tui", "play", model, "--checkpoints", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "no model" in result.stderr
