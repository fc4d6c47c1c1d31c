"""Planted keys, sockets and socket directories are refused in one line (issue #20).

A viewer unpickles what its trainer sends, so it must be sure the trainer is
its own: the key file and the socket must be this user's and owner-only, and
the process behind the socket must run as this user. The private socket
directory of deep run directories must be ours too.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import asdict
from pathlib import Path

import pytest
from conftest import collect_until, of_kind, small_config
from other_user import other_uid, other_user_prefix, run_python_as_other, why_no_other_user

from tetris_tui.protocol import PROTOCOL_VERSION, Episode
from tetris_tui.runs.runlock import WORKER_LOCK_FILE, RunLock
from tetris_tui.runs.trainers import KEY_FILE, TRAINER_FILE, card_for, private_dir
from tetris_tui.session.client import AttachError, connect
from tetris_tui.session.spawned import TrainingSession

NEEDS_ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown a file")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tetris_tui", *args], capture_output=True, text=True, timeout=120
    )


def test_a_key_readable_by_others_is_refused_in_one_line(run_dir):
    trainer = TrainingSession()
    trainer.start(small_config(run_dir))
    try:
        collect_until(trainer, lambda ev: len(of_kind(ev, Episode)) >= 1, timeout=90)
        os.chmod(run_dir / KEY_FILE, 0o644)  # as if someone had put their own key there
        result = _cli("attach", "--checkpoints", str(run_dir))
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.count("\n") == 1, result.stderr
        assert "refusing" in result.stderr and "mode 0644" in result.stderr
    finally:
        trainer.stop(timeout=15)


class _FakeTrainer:
    """A run directory whose card, lock and socket say a trainer lives (this process)."""

    def __init__(self, run: Path, sock: Path) -> None:
        run.mkdir(parents=True, exist_ok=True)
        self.lock = RunLock(run, WORKER_LOCK_FILE)
        self.lock.acquire()
        (run / KEY_FILE).write_bytes(b"k" * 32)
        os.chmod(run / KEY_FILE, 0o600)
        card = card_for(run, sock, PROTOCOL_VERSION)
        (run / TRAINER_FILE).write_text(json.dumps(asdict(card)))  # not the registry

    def close(self) -> None:
        self.lock.release()


def test_a_socket_open_to_others_is_refused(tmp_path):
    run, sock = tmp_path / "run", tmp_path / "planted.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(sock))
    listener.listen(1)
    os.chmod(sock, 0o666)
    fake = _FakeTrainer(run, sock)
    try:
        with pytest.raises(AttachError, match="mode 0666, not owner-only"):
            connect(run)
    finally:
        fake.close()
        listener.close()


@NEEDS_ROOT
def test_a_key_owned_by_another_user_is_refused(tmp_path):
    run, sock = tmp_path / "run", tmp_path / "s.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(sock))
    listener.listen(1)
    fake = _FakeTrainer(run, sock)
    os.chown(run / KEY_FILE, 65534, 65534)
    try:
        with pytest.raises(AttachError, match="owned by uid 65534"):
            connect(run)
    finally:
        fake.close()
        listener.close()


@NEEDS_ROOT
@pytest.mark.skipif(other_user_prefix() is None, reason=why_no_other_user())
def test_a_socket_served_by_another_user_is_refused_before_anything_is_read(tmp_path):
    """Owner and mode can be made to look right; the process behind it cannot."""
    shared = Path(tempfile.mkdtemp(prefix="tetris-tui-peer-", dir="/tmp"))
    os.chmod(shared, 0o777)
    sock = shared / "s.sock"
    script = f"""
import socket, time
s = socket.socket(socket.AF_UNIX)
s.bind({str(sock)!r})
s.listen(1)
print("ready", flush=True)
s.accept()[0].send(b"pickled data")
time.sleep(30)
"""
    prefix = other_user_prefix()
    assert prefix is not None
    listener = subprocess.Popen(
        [*prefix, "/usr/bin/python3", "-c", script], stdout=subprocess.PIPE, text=True
    )
    fake = None
    try:
        assert listener.stdout is not None and listener.stdout.readline() == "ready\n"
        os.chown(sock, os.getuid(), os.getgid())
        os.chmod(sock, 0o600)
        fake = _FakeTrainer(tmp_path / "run", sock)
        with pytest.raises(AttachError, match=f"runs as uid {other_uid()}"):
            connect(tmp_path / "run")
    finally:
        if fake is not None:
            fake.close()
        listener.kill()
        listener.wait()
        shutil.rmtree(shared, ignore_errors=True)


def test_a_planted_symlink_for_the_socket_directory_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    target = tmp_path / "theirs"
    target.mkdir(mode=0o700)
    (tmp_path / f"tetris-tui-{os.getuid()}").symlink_to(target)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chosen = private_dir()
    assert chosen.parent == tmp_path and chosen.name.startswith(f"tetris-tui-{os.getuid()}-")
    info = os.lstat(chosen)
    assert stat.S_ISDIR(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o700
    assert any("not a directory" in str(w.message) for w in caught)


@pytest.mark.skipif(other_user_prefix() is None, reason=why_no_other_user())
def test_a_socket_directory_made_by_another_user_is_refused_and_attach_still_works(
    tmp_path, monkeypatch
):
    base = Path(tempfile.mkdtemp(prefix="tetris-tui-xdg-", dir="/tmp"))
    try:
        os.chmod(base, 0o777)
        planted = base / f"tetris-tui-{os.getuid()}"
        made = run_python_as_other(f"import os; os.mkdir({str(planted)!r}, 0o777)", base)
        assert made.returncode == 0, made.stderr
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(base))
        run = tmp_path / ("deep-" * 20) / "run"  # too long for a socket inside it
        trainer = TrainingSession()
        trainer.start(small_config(run))
        try:
            collect_until(trainer, lambda ev: len(of_kind(ev, Episode)) >= 1, timeout=90)
            deadline = time.monotonic() + 30
            while not (run / TRAINER_FILE).exists():
                assert time.monotonic() < deadline, "no card"
                time.sleep(0.2)
            card = json.loads((run / TRAINER_FILE).read_text())
            assert Path(card["socket"]).parent != planted
            assert os.lstat(Path(card["socket"]).parent).st_uid == os.getuid()
            connection, _, first = connect(run)  # a viewer still gets in
            connection.close()
            assert first
            assert list(planted.iterdir()) == []
        finally:
            trainer.stop(timeout=15)
    finally:
        shutil.rmtree(base, ignore_errors=True)
