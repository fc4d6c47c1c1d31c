"""The best training game is recorded by the batched env and replays exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import collect_until, small_config

from tetris_tui import protocol as p
from tetris_tui.config import EnvConfig
from tetris_tui.envs.placement_vec import PlacementVecEnv
from tetris_tui.replay import final_state, load_replay, replay_path
from tetris_tui.runs.runlog import EVENTS_FILE
from tetris_tui.session.spawned import TrainingSession


def test_games_above_the_bar_come_back_as_replays_that_end_on_their_board():
    env = PlacementVecEnv(16, EnvConfig(), seed=5)
    env.record_above = 0
    obs = env.reset()
    rng = np.random.default_rng(0)
    replays = []
    for _ in range(600):
        scores = rng.random(obs.shape[:2]) * (obs[:, :, -1] > 0)
        obs, _, dones, infos = env.step(scores.argmax(axis=1))
        for i in np.flatnonzero(dones):
            replay = infos[i].get("replay")
            if replay is None:
                assert infos[i]["game"]["lines"] <= (replays[-1].lines if replays else 0)
                continue
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
    obs = env.reset()
    rng = np.random.default_rng(1)
    for _ in range(200):
        scores = rng.random(obs.shape[:2]) * (obs[:, :, -1] > 0)
        obs, _, _, infos = env.step(scores.argmax(axis=1))
        assert not any("replay" in info for info in infos)


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
