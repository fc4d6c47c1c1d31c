"""The viewer server's edges (issue #20): a silent peer, frozen viewers at close, a
viewer not started yet, and a viewer whose app does not drain."""

from __future__ import annotations

import socket
import threading
import time
from multiprocessing import Pipe

import pytest
from conftest import collect_until, of_kind, small_config

from tetris_tui.protocol import PROTOCOL_VERSION, Episode, Metrics, Resync, Status
from tetris_tui.runs.runlock import WORKER_LOCK_FILE, RunLock
from tetris_tui.runs.runlog import games_after
from tetris_tui.runs.trainers import KEY_FILE, TRAINER_FILE
from tetris_tui.session.attached import AttachedSession
from tetris_tui.session.client import connect
from tetris_tui.session.spawned import TrainingSession
from tetris_tui.worker import server as server_module


@pytest.fixture
def served(run_dir):
    """A ViewerServer in this process, holding the run's worker lock as a trainer does."""
    run_dir.mkdir()
    lock = RunLock(run_dir, WORKER_LOCK_FILE)
    lock.acquire()
    server = server_module.ViewerServer(run_dir, lambda command: None, PROTOCOL_VERSION)
    server.start()
    yield server
    server.close()
    lock.release()


def _game(number: int) -> Episode:
    return Episode(number, 1, 1.0, 1, 1, number, time.time())


def test_a_peer_that_says_nothing_is_dropped_after_the_handshake_timeout(served, monkeypatch):
    monkeypatch.setattr(server_module, "HANDSHAKE_SECONDS", 0.5)
    raw = socket.socket(socket.AF_UNIX)
    raw.connect(str(served.path))
    raw.settimeout(5.0)
    started = time.monotonic()
    while raw.recv(4096):  # the challenge, then end of file once we are dropped
        pass
    assert time.monotonic() - started < 3.0
    raw.close()


def test_close_is_bounded_with_frozen_viewers(served):
    frozen = [connect(served.run_dir)[0] for _ in range(4)]  # attached, never reading
    with served.lock:
        for number in range(1, 40_001, 100):  # far more than the kernel buffers hold
            served.publish([_game(n) for n in range(number, number + 100)])
    time.sleep(0.5)
    started = time.monotonic()
    served.close()
    took = time.monotonic() - started
    assert took < server_module.GOODBYE_SECONDS + 1.5, f"close took {took:.1f} s"
    assert not (served.run_dir / KEY_FILE).exists()
    assert not (served.run_dir / TRAINER_FILE).exists()
    deadline = time.monotonic() + 5
    while any(t.name == "viewer-send" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "a sender thread is still blocked"
        time.sleep(0.05)
    for connection in frozen:
        connection.close()


def test_close_with_a_viewer_subscribed_but_not_started(served):
    ours, theirs = Pipe()
    viewer = server_module._Viewer(ours, False, served)
    with served.lock:
        served._viewers.append(viewer)  # where _admit leaves it before start()
    served.close()  # neither raises nor skips the rest
    assert not (served.run_dir / KEY_FILE).exists()
    assert not (served.run_dir / TRAINER_FILE).exists()
    theirs.close()


def test_the_inbox_keeps_status_and_the_newest_frame_and_drops_games_for_a_resync():
    from tetris_tui.session.inbox import Inbox

    inbox = Inbox(limit=100)
    inbox.put([Status("running", 1)])
    for number in range(1, 1001):
        inbox.put([_game(number)])
        inbox.put(Metrics(timesteps=number, steps_per_sec=0.0, episodes=0, elapsed_s=0.0))
    inbox.put(Status("paused", 2))
    assert inbox.waiting <= 101
    events = []
    while (chunk := inbox.get()) is not None:
        events += chunk
    assert [e.state for e in events if isinstance(e, Status)] == ["running", "paused"]
    assert any(isinstance(e, Resync) for e in events)
    assert [m.timesteps for m in events if isinstance(m, Metrics)][-1] == 1000
    assert inbox.dropped > 0


def test_a_viewer_that_does_not_drain_stays_bounded_and_misses_no_game(run_dir):
    from tetris_tui.config import EnvConfig

    trainer = TrainingSession()
    trainer.start(small_config(run_dir, env=EnvConfig(kind="placement")))
    viewer = AttachedSession(run_dir, read_only=True, inbox_limit=60)
    try:
        collect_until(trainer, lambda ev: len(of_kind(ev, Episode)) >= 5, timeout=90)
        viewer.attach()
        shown = max(g.episode for g in games_after(run_dir, 0))
        viewer.shown_history_through(shown)
        peak = 0
        deadline = time.monotonic() + 90  # the app is busy: nothing drained
        while viewer._incoming.dropped < 100:
            assert time.monotonic() < deadline, "the inbox never overflowed"
            trainer.drain(max_items=100_000)
            peak = max(peak, viewer._incoming.waiting)
            time.sleep(0.05)
        assert peak <= 60 + 50  # one message past the bound at most
        live = collect_until(viewer, lambda ev: len(of_kind(ev, Episode)) >= 30, timeout=120)
    finally:
        viewer.detach()
        trainer.stop(timeout=15)
    games = [g.episode for g in of_kind(live, Episode)]
    assert games == list(range(shown + 1, shown + 1 + len(games))), "gap or repeat"
    assert viewer.resyncs >= 1
