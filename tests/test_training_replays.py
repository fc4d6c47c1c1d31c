"""The best training game is recorded by the batched env and replays exactly."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from conftest import collect_until, random_placements, small_config

from tetris_tui import protocol as p
from tetris_tui.config import EnvConfig
from tetris_tui.envs.placement_vec import PlacementVecEnv
from tetris_tui.replay import final_state, load_replay, replay_path
from tetris_tui.runs.runlog import EVENTS_FILE
from tetris_tui.session.spawned import TrainingSession
from tetris_tui.worker.best_replay import TrainingReplays


def test_games_above_the_bar_come_back_as_replays_that_end_on_their_board():
    env = PlacementVecEnv(16, EnvConfig(), seed=5)
    env.record_above = 0
    replays = []
    for dones, infos in random_placements(env, 600, seed=0):
        for i in np.flatnonzero(dones):
            recorded = infos[i].get("replay")
            if recorded is None:
                assert infos[i]["game"]["lines"] <= (replays[-1].lines if replays else 0)
                continue
            replay = recorded.replay()
            replays.append(replay)
            assert replay.lines == infos[i]["game"]["lines"] > 0
            # The placements alone rebuild the final board and the line count.
            assert final_state(replay.placements) == (replay.final_board, replay.lines)
            assert replay.pieces == len(replay.placements) > 0
    assert len(replays) >= 1
    assert [r.lines for r in replays] == sorted({r.lines for r in replays})  # the bar rises
    assert env.record_above == replays[-1].lines


def test_no_bar_no_replays():
    env = PlacementVecEnv(8, EnvConfig(), seed=2)
    for _, infos in random_placements(env, 200, seed=1):
        assert not any("replay" in info for info in infos)


def test_records_wait_in_memory_and_are_written_at_most_every_interval(tmp_path):
    """Early in training a new best ends every few steps: only the newest is written."""
    env = PlacementVecEnv(16, EnvConfig(), seed=5)
    replays = TrainingReplays(env, tmp_path)
    assert env.record_above == 0  # nothing on disk yet
    offered = []
    for dones, infos in random_placements(env, 600, seed=0):
        for i in np.flatnonzero(dones):
            if "replay" in infos[i]:
                offered.append(infos[i]["replay"])
                replays.offer(infos[i]["replay"], timesteps=len(offered))
    assert offered  # random play clears a line now and then
    path = replay_path("best", tmp_path)
    assert not path.exists()  # offered, not written
    assert replays.write_due(now=0.0, interval=5.0)  # the first write: the best offered
    assert load_replay(path).lines == offered[-1].lines
    assert load_replay(path).policy_timesteps == len(offered)
    better = dataclasses.replace(offered[-1], lines=offered[-1].lines + 1)
    replays.offer(better, timesteps=99)
    assert not replays.write_due(now=4.0, interval=5.0)  # too soon: it waits
    assert load_replay(path).lines == offered[-1].lines
    assert replays.write_due(now=5.0, interval=5.0)
    assert json.loads(path.read_text())["lines"] == better.lines
    assert env.record_above == better.lines  # the env's bar is the best on disk
    assert not replays.write()  # nothing waits


@pytest.mark.slow
def test_the_best_training_game_goes_to_best_json(run_dir):
    """Real worker, env view (so the spectator plays nothing): best.json is a training game."""
    config = small_config(
        run_dir, env=EnvConfig(kind="placement"), total_timesteps=2048, view=p.VIEW_ENV
    )
    session = TrainingSession()
    try:
        session.start(config)
        collect_until(
            session,
            lambda ev: any(isinstance(e, p.Status) and e.state == p.FINISHED for e in ev),
            timeout=120,
        )
    finally:
        session.stop(timeout=15)
    games = [
        record
        for record in map(json.loads, (run_dir / EVENTS_FILE).read_text().splitlines())
        if record["kind"] == "episode"
    ]
    best = load_replay(replay_path("best", run_dir))  # checks it ends on its board
    assert best.source == "training"
    assert best.lines == max(g["lines"] for g in games) > 0
    assert 0 < best.policy_timesteps <= 2048
