"""The seam between history and live games is exact (issue #20), on a busy real trainer.

A viewer is subscribed before its Hello, and ``attach()`` returns only once the
Hello has arrived: history read after ``attach()`` returns, plus the live games,
is every game of events.jsonl exactly once, however often one attaches.
"""

from __future__ import annotations

import time

from conftest import collect_until, of_kind, small_config

from tetris_tui.config import EnvConfig
from tetris_tui.protocol import Episode, Hello
from tetris_tui.runs.runlog import games_after, recent_games
from tetris_tui.session.attached import AttachedSession
from tetris_tui.session.spawned import TrainingSession

ATTACHES = 10


def test_repeated_attaches_to_a_busy_trainer_see_every_game_once(run_dir):
    trainer = TrainingSession()
    trainer.start(small_config(run_dir, env=EnvConfig(kind="placement")))
    try:
        collect_until(trainer, lambda ev: len(of_kind(ev, Episode)) >= 20, timeout=90)
        for attempt in range(ATTACHES):
            viewer = AttachedSession(run_dir, read_only=True)
            viewer.attach()
            try:
                shown = recent_games(run_dir, 1).last_number  # as the app does
                viewer.shown_history_through(shown)
                live = collect_until(viewer, lambda ev: len(of_kind(ev, Episode)) >= 3, timeout=60)
            finally:
                viewer.detach()
            assert isinstance(live[0], Hello)
            games = [g.episode for g in of_kind(live, Episode)]
            recorded = [g.episode for g in games_after(run_dir, shown)][: len(games)]
            assert games == recorded, f"attach {attempt}: after game {shown}, gap or repeat"
            trainer.drain(max_items=100_000)
            time.sleep(0.1)
    finally:
        trainer.stop(timeout=15)


def test_a_slow_handshake_thread_loses_no_game(run_dir, monkeypatch):
    """A trainer busy enough that its handshake thread runs late (held here for 0.3 s
    between the viewer's Attach and its subscription) still loses no game at the seam."""
    import threading

    from tetris_tui.protocol import PROTOCOL_VERSION
    from tetris_tui.runs.runlock import WORKER_LOCK_FILE, RunLock
    from tetris_tui.runs.runlog import RunLog
    from tetris_tui.worker import server as server_module

    viewer_init = server_module._Viewer.__init__

    def late(self, *args, **kwargs):
        time.sleep(0.3)
        viewer_init(self, *args, **kwargs)

    monkeypatch.setattr(server_module._Viewer, "__init__", late)
    run_dir.mkdir()
    lock = RunLock(run_dir, WORKER_LOCK_FILE)
    lock.acquire()
    server = server_module.ViewerServer(run_dir, lambda command: None, PROTOCOL_VERSION)
    server.start()
    log = RunLog(run_dir)
    playing = threading.Event()
    playing.set()

    def play() -> None:  # what the sink does: history and viewers under one lock
        number = 0
        while playing.is_set():
            number += 1
            game = Episode(number, 1, 1.0, 1, 1, number, time.time())
            with server.lock:
                log.append_many([game])
                server.publish([game])
            time.sleep(0.01)

    player = threading.Thread(target=play, daemon=True)
    player.start()
    viewer = AttachedSession(run_dir, read_only=True)
    try:
        time.sleep(0.1)
        viewer.attach()
        shown = recent_games(run_dir, 1).last_number
        viewer.shown_history_through(shown)
        live = collect_until(viewer, lambda ev: len(of_kind(ev, Episode)) >= 40, timeout=30)
    finally:
        playing.clear()
        player.join(5)
        viewer.detach()
        server.close()
        log.close()
        lock.release()
    games = [g.episode for g in of_kind(live, Episode)]
    assert games == list(range(shown + 1, shown + 1 + len(games))), "gap or repeat"
