"""The training engine end to end: a real worker, real PPO, real tetris-gymnasium."""

from __future__ import annotations

import json
import os
import time

import pytest
from conftest import collect_until, of_kind, small_config

from tetris_tui.proctree import pid_alive
from tetris_tui.protocol import (
    FINISHED,
    LATEST,
    PAUSED,
    RUNNING,
    STOPPED,
    Board,
    Checkpoint,
    Episode,
    Info,
    Metrics,
    Pause,
    Resume,
    SetSpeed,
    SetWatch,
    Status,
    Stop,
    Warning,
)
from tetris_tui.session.spawned import TrainingSession, worker_pids


def _state(events, state):
    return any(isinstance(e, Status) and e.state == state for e in events)


def test_every_event_kind_arrives_with_sane_values(session, run_dir):
    config = small_config(run_dir, total_timesteps=1024, checkpoint_every=512)
    session.start(config)
    events = collect_until(session, lambda ev: _state(ev, FINISHED), timeout=120)

    states = [e.state for e in of_kind(events, Status)]
    assert states[0] == "starting" and RUNNING in states and states[-1] == FINISHED

    boards = of_kind(events, Board)
    assert boards, "no board frames"
    frame = boards[-1]
    assert len(frame.cells) == 200
    assert set(frame.cells) <= set(range(0, 9))
    assert len(frame.next_pieces) == 4 and all(2 <= p <= 8 for p in frame.next_pieces)

    metrics = of_kind(events, Metrics)
    assert metrics and metrics[-1].timesteps >= 1024
    assert all(m.steps_per_sec >= 0 for m in metrics)
    last = metrics[-1]
    assert 0 < last.cpu_s <= last.elapsed_s * (os.cpu_count() or 1) + 0.5
    trained = [m.train for m in metrics if m.train]
    assert trained, "no PPO update figures reached the UI"
    assert {"entropy", "value_loss", "approx_kl", "clip_fraction"} <= set(trained[0])
    assert trained[0]["entropy"] > 0

    games = of_kind(events, Episode)
    assert games and [g.episode for g in games] == list(range(1, len(games) + 1))
    assert all(g.pieces > 0 and g.length >= g.pieces and g.lines >= 0 for g in games)

    saved = {c.which for c in of_kind(events, Checkpoint)}
    assert {"latest", "final"} <= saved
    assert (run_dir / "final" / "model.zip").is_file()
    meta = json.loads((run_dir / "final" / "meta.json").read_text())
    assert meta["timesteps"] >= 1024 and meta["config"]["env"]["kind"] == "raw"
    assert meta["episodes"] == len(games)

    history = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    logged = [r for r in history if r["kind"] == "episode"]
    assert len(logged) == len(games)
    assert {"episode", "lines", "reward", "pieces", "timesteps", "time"} <= set(logged[0])


def test_stop_saves_latest_and_the_worker_exits(session, run_dir):
    session.start(small_config(run_dir))
    collect_until(session, lambda ev: _state(ev, RUNNING), timeout=60)
    pids = worker_pids(session)
    started = time.monotonic()
    session.send(Stop())
    events = collect_until(session, lambda ev: _state(ev, STOPPED), timeout=30)
    assert of_kind(events, Checkpoint)[-1].which == LATEST
    assert (run_dir / LATEST / "model.zip").is_file()
    deadline = time.monotonic() + 10
    while session.alive and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not session.alive
    assert time.monotonic() - started < 10
    assert not [p for p in pids if pid_alive(p)]


def test_pause_holds_the_timesteps_and_resume_continues(session, run_dir):
    session.start(small_config(run_dir, step_delay=0.0))
    events = collect_until(session, lambda ev: len(of_kind(ev, Metrics)) >= 3, timeout=60)
    session.send(Pause())
    collect_until(session, lambda ev: _state(ev, PAUSED), seen=events)
    time.sleep(0.3)  # let metrics in flight arrive
    before = [m.timesteps for m in of_kind(events + session.drain(), Metrics)][-1]
    time.sleep(1.5)
    during = of_kind(session.drain(), Metrics)
    assert during, "metrics keep coming while paused"
    assert all(m.timesteps == before for m in during)
    assert all(m.steps_per_sec == 0 for m in during[1:])

    # Resume: training goes on from where it was held.
    session.send(Resume())
    resumed = collect_until(
        session,
        lambda ev: any(m.timesteps > before for m in of_kind(ev, Metrics)),
        timeout=30,
    )
    assert _state(resumed, RUNNING)

    session.send(Pause())
    collect_until(session, lambda ev: _state(ev, PAUSED), timeout=30)
    session.send(Stop())  # stop must work while paused
    ended = collect_until(session, lambda ev: _state(ev, STOPPED), timeout=30)
    assert (run_dir / LATEST / "model.zip").is_file()
    assert of_kind(ended, Checkpoint)


def test_resume_continues_from_the_saved_timestep(session, run_dir):
    session.start(small_config(run_dir, total_timesteps=512))
    collect_until(session, lambda ev: _state(ev, FINISHED), timeout=90)
    session.stop(timeout=10)
    first = json.loads((run_dir / LATEST / "meta.json").read_text())
    assert first["timesteps"] == 512

    second = TrainingSession()
    try:
        second.start(small_config(run_dir, total_timesteps=1024))
        events = collect_until(second, lambda ev: _state(ev, FINISHED), timeout=90)
    finally:
        second.stop(timeout=10)
    running = [e for e in of_kind(events, Status) if e.state == RUNNING]
    assert running[0].timesteps == 512
    # It loaded the saved model (not a fresh one that happens to count from 512) and trained on.
    assert any(e.text.startswith("resuming from") for e in of_kind(events, Info))
    assert not of_kind(events, Warning)
    assert max(m.updates for m in of_kind(events, Metrics)) >= 1
    final = json.loads((run_dir / "final" / "meta.json").read_text())
    assert final["timesteps"] == 1024
    assert final["episodes"] >= first["episodes"]
    first_new_game = of_kind(events, Episode)[0]
    assert first_new_game.episode == first["episodes"] + 1


def test_speed_and_watch_commands(session, run_dir):
    session.start(small_config(run_dir))
    collect_until(session, lambda ev: len(of_kind(ev, Board)) >= 2, timeout=60)
    session.send(SetWatch(False))
    time.sleep(0.5)
    session.drain()
    time.sleep(1.0)
    assert not of_kind(session.drain(), Board)
    session.send(SetWatch(True))
    session.send(SetSpeed(0.05))
    time.sleep(0.5)
    session.drain()
    slow = collect_until(session, lambda ev: len(of_kind(ev, Metrics)) >= 6, timeout=30)
    rates = [m.steps_per_sec for m in of_kind(slow, Metrics)[-3:]]
    assert max(rates) < 25, rates  # 0.05 s a step caps it near 20 steps/s
    assert of_kind(slow, Board)  # frames came back with watch on


def test_dropped_session_leaves_no_process(run_dir):
    session = TrainingSession()
    session.start(small_config(run_dir))
    collect_until(session, lambda ev: _state(ev, RUNNING), timeout=60)
    pids = worker_pids(session)
    assert pids
    del session
    deadline = time.monotonic() + 15
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in pids if pid_alive(p)]
    assert (run_dir / LATEST / "model.zip").is_file()


@pytest.mark.parametrize("n_envs", [2])
def test_subprocess_envs_report_games_from_every_env(session, run_dir, n_envs):
    session.start(small_config(run_dir, n_envs=n_envs, total_timesteps=1024))
    events = collect_until(session, lambda ev: _state(ev, FINISHED), timeout=120)
    assert {g.env_index for g in of_kind(events, Episode)} == set(range(n_envs))
    assert os.path.exists(run_dir / "final" / "model.zip")
