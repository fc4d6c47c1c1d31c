"""Unit: what both sessions pass on from their peer (session/intake.py)."""

from __future__ import annotations

from tetris_tui.protocol import (
    CRASHED,
    PROTOCOL_VERSION,
    RUNNING,
    Episode,
    Error,
    Hello,
    Resync,
    Status,
)
from tetris_tui.runs.runlog import RunLog
from tetris_tui.session.history import GameSeam
from tetris_tui.session.intake import EventIntake, state_after


def _game(number: int) -> Episode:
    return Episode(
        episode=number, lines=1, reward=1.0, pieces=10, length=10,
        timesteps=10 * number, time=float(number), duration_s=0.1,
    )  # fmt: skip


def test_a_peer_of_another_protocol_is_said_once_and_then_ignored():
    intake = EventIntake(GameSeam(None), "trainer")
    out = intake.accept([Hello(PROTOCOL_VERSION + 1, 7, "train"), Status(RUNNING, 5)])
    assert [type(e) for e in out] == [Error, Status]
    assert "the trainer speaks protocol" in out[0].message and out[1].state == CRASHED
    assert intake.compatible is False and intake.refused_now  # the session acts once
    assert intake.accept([Status(RUNNING, 9), _game(1)]) == []  # would be misread
    assert not intake.refused_now


def test_a_peer_without_a_hello_is_a_mismatch_too():
    intake = EventIntake(GameSeam(None), "worker")
    out = intake.accept([Status(RUNNING, 5)])
    assert "the worker speaks protocol no version" in out[0].message


def test_games_pass_once_in_order_across_a_resync(tmp_path):
    log = RunLog(tmp_path)
    log.append_many([_game(n) for n in range(1, 7)])
    log.close()
    intake = EventIntake(GameSeam(tmp_path, last_game=1), "worker")
    hello = Hello(PROTOCOL_VERSION, 7, "train")
    out = intake.accept([hello, _game(1), _game(2), Resync(), _game(4), _game(6)])
    assert out[0] == hello
    assert [e.episode for e in out[1:]] == [2, 3, 4, 5, 6]  # 1 shown before; 3-6 read back
    assert intake.seam.resyncs == 1


def test_a_sessions_state_is_its_last_status():
    events = [Status(RUNNING, 5), _game(1), Status(CRASHED, 9, "boom"), _game(2)]
    assert state_after(events, "starting") == CRASHED
    assert state_after([_game(3)], "paused") == "paused"
