"""Placement games in one process against the same games split over P processes.

    python bench/shards.py [--n-envs 256] [--procs 2] [--rounds 3] [--seconds 3] [--steps 65536]

Two measures, each in the same run and interleaved by round:

- env: placements/s of ``PlacementVecEnv(n)`` against ``ShardedPlacementVecEnv(n, P)``,
  stepped with random legal actions for ``--seconds`` each;
- ppo: training steps/s of the default trainer (``LeanPPO``, 1 torch thread)
  with ``env_procs`` 1 against P, for ``--steps`` each.

On a machine with P spare cores the shards step in parallel; the learner
still waits for every step, so PPO gains less than the env. The last line is
``env_ratio=<median sharded/one> ppo_ratio=<median sharded/one>``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tetris_tui.config import Config, ConfigError  # noqa: E402


def _placements_per_s(env: Any, seconds: float, rng: np.random.Generator) -> float:
    obs = env.reset()
    placements, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        legal = obs[:, :, -1]  # the observation's last column is the legal mask
        actions = (rng.random(legal.shape) * legal).argmax(axis=1)
        obs = env.step(actions)[0]
        placements += env.num_envs
    return placements / (time.perf_counter() - start)


def _train_rate(model: Any, steps: int) -> float:
    before, start = model.num_timesteps, time.perf_counter()
    model.learn(steps, reset_num_timesteps=False)
    return (model.num_timesteps - before) / (time.perf_counter() - start)


def _summary(name: str, ratios: list[float]) -> float:
    median = statistics.median(ratios)
    spread = f"(min {min(ratios):.2f}, max {max(ratios):.2f})"
    print(f"{name}: sharded / one median {median:.2f} {spread}")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-envs", type=int, default=256)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--steps", type=int, default=65_536)
    args = parser.parse_args()
    try:
        one = Config(seed=1, n_envs=args.n_envs)
        sharded = one.replace(env_procs=args.procs)
    except ConfigError as exc:
        raise SystemExit(f"shards.py: {exc}") from None
    if args.rounds < 1 or args.seconds <= 0 or args.steps < 1:
        raise SystemExit("shards.py: --rounds, --seconds and --steps must be positive")
    from tetris_tui.envs.placement_vec import PlacementVecEnv
    from tetris_tui.envs.sharded_vec import ShardedPlacementVecEnv
    from tetris_tui.worker.model_factory import build_vec_env, configure_torch, new_model

    print(f"cpus={os.cpu_count()} n_envs={args.n_envs} procs={args.procs}")
    rng = np.random.default_rng(0)
    single = PlacementVecEnv(args.n_envs)
    split = ShardedPlacementVecEnv(args.n_envs, None, args.procs)
    env_ratios = []
    for r in range(args.rounds):
        a = _placements_per_s(single, args.seconds, rng)
        b = _placements_per_s(split, args.seconds, rng)
        env_ratios.append(b / a)
        print(f"env round {r + 1}: one {a:,.0f}  sharded {b:,.0f} placements/s", flush=True)
    split.close()

    configure_torch(one)
    models = [new_model(c, build_vec_env(c)) for c in (one, sharded)]
    ppo_ratios = []
    for r in range(args.rounds):
        a, b = (_train_rate(model, args.steps) for model in models)
        ppo_ratios.append(b / a)
        print(f"ppo round {r + 1}: one {a:,.0f}  sharded {b:,.0f} steps/s", flush=True)
    for model in models:
        model.env.close()
    env_ratio, ppo_ratio = _summary("env", env_ratios), _summary("ppo", ppo_ratios)
    print(f"env_ratio={env_ratio:.2f} ppo_ratio={ppo_ratio:.2f}")


if __name__ == "__main__":
    main()
