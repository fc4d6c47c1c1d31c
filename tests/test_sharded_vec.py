"""ShardedPlacementVecEnv: games split over processes play exactly as in one batched env."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from test_cli import CLI
from test_placement_vec import actions_for, compare_infos

from tetris_tui.config import Config, ConfigError, EnvConfig
from tetris_tui.envs.placement_vec import PlacementVecEnv
from tetris_tui.envs.sharded_vec import (
    SHARD_PROCESS_NAME,
    ShardedPlacementVecEnv,
    split_games,
)
from tetris_tui.proctree import children, descendants, pid_alive, process_name


def test_games_are_split_in_contiguous_near_equal_blocks() -> None:
    assert split_games(10, 3) == [(0, 4), (4, 3), (7, 3)]
    assert split_games(4, 4) == [(0, 1), (1, 1), (2, 1), (3, 1)]
    with pytest.raises(ValueError):
        split_games(2, 3)


@pytest.mark.parametrize(
    "config",
    [
        EnvConfig(max_pieces=120),
        EnvConfig(rules="research", height=10, randomizer="uniform", max_pieces=120),
    ],
    ids=["gymnasium", "research10"],
)
def test_lockstep_with_one_batched_env(config: EnvConfig) -> None:
    n, seed = 13, 21
    ref = PlacementVecEnv(n, config)
    ours = ShardedPlacementVecEnv(n, config, shards=3)
    try:
        assert len(set(children(os.getpid())) & {p.pid for p in ours._processes}) == 3
        ref.seed(seed)
        ours.seed(seed)
        ref.record_above = ours.record_above = 0  # replays of every game that clears lines
        obs, ref_obs = ours.reset(), ref.reset()
        rng = np.random.default_rng(seed)
        games = replays = 0
        for t in range(400):
            np.testing.assert_array_equal(obs, ref_obs, err_msg=f"step {t}")
            actions = actions_for(obs, rng, 3.0)
            ref_obs, ref_rewards, ref_dones, ref_infos = ref.step(actions)
            obs, rewards, dones, infos = ours.step(actions)
            np.testing.assert_array_equal(rewards, ref_rewards)
            np.testing.assert_array_equal(dones, ref_dones)
            games += compare_infos(ref_infos, infos, dones)
            # Each shard keeps its own bar, so two games ending in one step may both
            # come back where one env returns only the first: a superset, same games.
            for ref_info, info in zip(ref_infos, infos, strict=True):
                if "replay" in ref_info:
                    replays += 1
                    ref_replay = ref_info["replay"].replay()
                    same_time = {"recorded_at": ref_replay.recorded_at}
                    replay = info["replay"].replay()
                    assert dataclasses.replace(replay, **same_time) == ref_replay
            ours.record_above = ref.record_above = 0
            if t % 50 == 0:
                np.testing.assert_array_equal(ours.action_masks(), ref.action_masks())
                frames = ours.env_method("board_frame", indices=[12, 0, 5])
                assert frames == ref.env_method("board_frame", indices=[12, 0, 5])
        assert games >= 10 and replays >= 1
        assert ours.get_attr("n", indices=[0, 12]) == [5, 4]  # each shard's own size
    finally:
        ours.close()
    assert not any(pid_alive(p.pid) for p in ours._processes)


def test_shards_die_with_a_killed_parent(tmp_path) -> None:
    script = (
        "import os, sys, time\n"
        "from tetris_tui.envs.sharded_vec import ShardedPlacementVecEnv\n"
        "env = ShardedPlacementVecEnv(4, shards=2)\n"
        "print(' '.join(str(p.pid) for p in env._processes), flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        shards = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(shards) == 2 and all(pid_alive(pid) for pid in shards)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 5
        while any(pid_alive(pid) for pid in shards) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(pid_alive(pid) for pid in shards), "a shard outlived its trainer"
    finally:
        parent.kill()


def test_env_procs_is_checked_in_one_line() -> None:
    with pytest.raises(ConfigError, match="needs at least as many games"):
        Config(n_envs=2, env_procs=3)
    with pytest.raises(ConfigError, match="needs --env placement"):
        Config(env=EnvConfig(kind="raw"), env_procs=2)
    with pytest.raises(ConfigError, match="env_procs must be > 0"):
        Config(env_procs=0)


def test_a_headless_run_trains_on_games_split_over_two_processes(tmp_path) -> None:
    """The real program: --env-procs 2 starts two shards, trains, saves, and leaves none."""
    run = tmp_path / "run"
    args = ["--headless", "--env-procs", "2", "--n-envs", "16", "--total-timesteps", "6144"]
    process = subprocess.Popen(
        [*CLI, *args, "--checkpoints", str(run), "--seed", "1", "--device", "cpu"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    shards: set[int] = set()
    deadline = time.monotonic() + 180
    while process.poll() is None and time.monotonic() < deadline:
        shards |= {
            pid for pid in descendants(process.pid) if process_name(pid) == SHARD_PROCESS_NAME
        }
        time.sleep(0.1)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "[finished]" in out and "Traceback" not in err
    assert len(shards) == 2
    assert not any(pid_alive(pid) for pid in shards)
    meta = json.loads((run / "final" / "meta.json").read_text())
    assert meta["timesteps"] >= 6144 and meta["config"]["env_procs"] == 2
    games = [json.loads(x) for x in (run / "events.jsonl").read_text().splitlines()]
    assert sum(r["kind"] == "episode" for r in games) >= 16
