"""Viewers attached to a live trainer (issue #13), through the real worker and socket."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import collect_until, of_kind, small_config
from other_user import other_user_prefix, run_python_as_other, why_no_other_user

from tetris_tui.config import EnvConfig
from tetris_tui.protocol import (
    PAUSED,
    RUNNING,
    STOPPED,
    Episode,
    Hello,
    Metrics,
    Pause,
    Resume,
    Status,
)
from tetris_tui.runs.runlock import LOCK_FILE, WORKER_LOCK_FILE
from tetris_tui.runs.runlog import read_history
from tetris_tui.runs.trainers import KEY_FILE, TRAINER_FILE, live_trainer
from tetris_tui.session.attached import AttachedSession
from tetris_tui.session.spawned import TrainingSession

PLACEMENT = EnvConfig(kind="placement")


def _state(events, state):
    return any(isinstance(e, Status) and e.state == state for e in events)


def _drain_for(session, seconds: float) -> list:
    events: list = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        events += session.drain(max_items=100_000)
        time.sleep(0.05)
    return events


def _start_trainer(run_dir: Path, **changes: object) -> TrainingSession:
    trainer = TrainingSession()
    trainer.start(small_config(run_dir, env=PLACEMENT, **changes))
    collect_until(trainer, lambda ev: len(of_kind(ev, Episode)) >= 20, timeout=90)
    return trainer


def test_viewers_see_history_then_live_and_only_commanders_command(run_dir):
    trainer = _start_trainer(run_dir)
    viewer = AttachedSession(run_dir)
    watcher = AttachedSession(run_dir, read_only=True)
    try:
        viewer.attach()  # subscribe first, then read the history (as the app does)
        history = read_history(run_dir, max_episodes=100_000)
        viewer.shown_history_through(history.episodes[-1].episode)
        live = collect_until(viewer, lambda ev: len(of_kind(ev, Episode)) >= 5, timeout=60)
        assert isinstance(live[0], Hello)
        games = [g.episode for g in of_kind(live, Episode)]
        # The seam: the first live game follows the last one read from history.
        assert games[0] == history.episodes[-1].episode + 1
        assert games == list(range(games[0], games[0] + len(games)))
        assert of_kind(live, Metrics)

        watcher.attach()
        viewer.send(Pause())
        collect_until(trainer, lambda ev: _state(ev, PAUSED), timeout=20)
        collect_until(watcher, lambda ev: _state(ev, PAUSED), timeout=20)
        # A read-only viewer sends nothing, and the trainer ignores it if it tries.
        watcher.send(Resume())
        watcher._connection.send(Resume())
        assert not _state(_drain_for(trainer, 1.5), RUNNING)
        viewer.send(Resume())
        collect_until(trainer, lambda ev: _state(ev, RUNNING), timeout=20)

        asked = time.monotonic()
        viewer.stop(timeout=30)  # a viewer may stop the trainer: save, then end
        assert viewer.state == STOPPED
        # It returned on the trainer's word, not by running out its timeout (and then
        # signalling a pid that may be gone).
        assert time.monotonic() - asked < 20
        collect_until(watcher, lambda ev: _state(ev, STOPPED), timeout=20)
        collect_until(trainer, lambda ev: _state(ev, STOPPED), timeout=20)
    finally:
        watcher.detach()
        viewer.detach()
        trainer.stop(timeout=15)
    assert (run_dir / "latest" / "model.zip").is_file()
    assert not (run_dir / TRAINER_FILE).exists() and not (run_dir / KEY_FILE).exists()


def test_a_frozen_viewer_resyncs_with_no_gap_and_no_repeat(run_dir, monkeypatch):
    # A small outbox, so a few seconds of freeze overflow it and force a resync.
    monkeypatch.setenv("TETRIS_TUI_FAULT", "outbox-limit:40")
    trainer = _start_trainer(run_dir)
    probe = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("viewer_probe.py")), str(run_dir), "60"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        # Freeze it only once it is attached (a loaded machine may take seconds to
        # start it), and a little after, so that it is reading live games.
        assert probe.stdout is not None
        history_line = probe.stdout.readline()
        time.sleep(1.0)
        before = _drain_for(trainer, 0.1)
        os.kill(probe.pid, signal.SIGSTOP)
        frozen = collect_until(trainer, lambda ev: len(of_kind(ev, Episode)) >= 300, timeout=90)
        os.kill(probe.pid, signal.SIGCONT)
        time.sleep(3.0)
        trainer.request_stop()
        after = collect_until(trainer, lambda ev: _state(ev, STOPPED), timeout=30)
        rest, _ = probe.communicate(timeout=30)
        out = history_line + rest
    finally:
        if probe.poll() is None:
            probe.kill()
        trainer.stop(timeout=15)
    assert len(of_kind(frozen, Episode)) >= 300  # far more than its outbox holds
    lines = out.split()
    assert lines[0] == "history" and lines[-2] == "resyncs"
    assert int(lines[-1]) >= 1  # it fell behind, was told so, and read the games back
    numbers = [int(x) for x in lines[2:-2]]
    first = int(lines[1]) + 1
    assert numbers == list(range(first, first + len(numbers))), "gap or repeat"
    last_played = max(g.episode for g in of_kind(before + frozen + after, Episode))
    assert numbers[-1] >= last_played - 5  # it caught up after the freeze


@pytest.mark.skipif(other_user_prefix() is None, reason=why_no_other_user())
def test_another_os_user_can_neither_connect_nor_command_nor_lock(tmp_path):
    shared = Path(tempfile.mkdtemp(prefix="tetris-tui-shared-", dir="/tmp"))
    try:
        os.chmod(shared, 0o755)
        run = shared / "run"
        run.mkdir(mode=0o755)
        trainer = _start_trainer(run)
        try:
            _check_refused_as_nobody(shared, run)
            assert live_trainer(run) is not None  # still training, untouched
        finally:
            trainer.stop(timeout=15)
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def _check_refused_as_nobody(shared: Path, run: Path) -> None:
    # The run directory and trainer.json are world-readable; the key, socket and locks not.
    for name in (KEY_FILE, LOCK_FILE, WORKER_LOCK_FILE):
        assert stat.S_IMODE((run / name).stat().st_mode) == 0o600, name
    card = live_trainer(run)
    assert card is not None and stat.S_IMODE(Path(card.socket).stat().st_mode) == 0o600
    source = shared / "src"
    shutil.copytree(
        Path(__file__).resolve().parents[1] / "tetris_tui",
        source / "tetris_tui",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    for path in [source, *source.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    script = f"""
import fcntl, os, socket, sys
from pathlib import Path
from tetris_tui.session.client import AttachError, connect
from tetris_tui.protocol import Stop
try:
    connection, _, _ = connect(Path({str(run)!r}))
    connection.send(Stop())
    print("CONNECTED")
except AttachError as exc:
    print("refused:", exc)
raw = socket.socket(socket.AF_UNIX)
try:
    raw.connect({card.socket!r})
    print("RAW CONNECTED")
except PermissionError:
    print("raw: permission denied")
try:  # a lock anyone could take would block training
    fcntl.flock(os.open({str(run / WORKER_LOCK_FILE)!r}, os.O_RDONLY), fcntl.LOCK_SH)
    print("LOCKED")
except PermissionError:
    print("lock: permission denied")
"""
    result = run_python_as_other(script, source)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3, result.stdout
    assert lines[0].startswith("refused: cannot read") and "permission denied" in lines[0]
    assert "another user" in lines[0]
    assert lines[1] == "raw: permission denied"
    assert lines[2] == "lock: permission denied"


def test_a_card_that_cannot_be_written_leaves_no_temp_file(tmp_path, monkeypatch):
    """Unit: a full disk during the 2-s heartbeat must not litter the run directory."""
    import errno

    from tetris_tui.runs import trainers

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    card = trainers.card_for(tmp_path, tmp_path / "s.sock", 3)
    with monkeypatch.context() as patch, pytest.raises(OSError):
        patch.setattr(os, "replace", full)  # the temp file is written whole, then this
        trainers.write_card(tmp_path, card)
    assert [p.name for p in tmp_path.iterdir()] == []
