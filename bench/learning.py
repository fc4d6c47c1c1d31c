"""How fast does the default config learn? Train from scratch and evaluate on a clock.

    python bench/learning.py --minutes 10 [--eval-every-min 2]

Trains the default ``EnvConfig``/``PPOConfig`` (placement env, PPO with
``PlacementPolicy``) and, every ``--eval-every-min`` minutes of TRAINING time,
plays 10 greedy games (cap 10,000 pieces, fixed seeds) and prints a row.
Evaluation time is not counted as training time: the clock is paused while the
games run. A random-legal-placement baseline comes first. The last line is
``final: minutes=… timesteps=… mean=… median=… max=…``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tetris_tui.config import Config, EnvConfig, PPOConfig  # noqa: E402
from tetris_tui.training.evaluate import play_games, summarize  # noqa: E402

EVAL_SEED = 10_001


class RandomLegal:
    """A model-like baseline: a uniformly random legal placement."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> tuple[np.ndarray, None]:
        obs = np.asarray(obs).reshape(-1, *obs.shape[-2:])
        actions = [int(self.rng.choice(np.flatnonzero(o[:, -1] > 0))) for o in obs]
        return np.array(actions), None


class TrainingClock:
    """SB3 callback that stops ``learn`` once a training-time deadline has passed."""

    def __new__(cls, deadline: float) -> Any:
        from stable_baselines3.common.callbacks import BaseCallback

        class _Clock(BaseCallback):
            def _on_step(self) -> bool:
                return time.monotonic() < deadline

        return _Clock()


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--eval-every-min", type=float, default=2.0)
    parser.add_argument("--eval-games", type=int, default=10)
    parser.add_argument("--max-pieces", type=int, default=10_000)
    parser.add_argument("--n-envs", type=int, default=Config().n_envs)
    parser.add_argument("--vec-env", choices=("dummy", "subproc"), default="dummy")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ppo", default="{}", help="JSON overrides of PPOConfig fields")
    parser.add_argument("--env", default="{}", help="JSON overrides of EnvConfig fields")
    parser.add_argument("--policy", default="{}", help="JSON overrides of policy kwargs")
    parser.add_argument("--skip-baseline", action="store_true")
    return parser.parse_args()


def main() -> None:
    args = _parse()
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecMonitor

    from tetris_tui.envs import make_env
    from tetris_tui.policy.placement import placement_ppo_kwargs

    torch.set_num_threads(args.threads)
    env_config = dataclasses.replace(EnvConfig(), kind="placement", **json.loads(args.env))
    ppo = dataclasses.replace(PPOConfig(), **json.loads(args.ppo))
    kwargs = placement_ppo_kwargs()
    policy_kwargs = {**kwargs["policy_kwargs"], **json.loads(args.policy)}
    print(f"env: {env_config}\nppo: {ppo}\npolicy: {policy_kwargs}")
    print(f"n_envs={args.n_envs} vec_env={args.vec_env} torch_threads={args.threads}")
    print(f"cpus={os.cpu_count()} eval: {args.eval_games} greedy games, cap {args.max_pieces}")

    if not args.skip_baseline:
        start = time.monotonic()
        base = summarize(play_games(RandomLegal(), args.eval_games, env_config, EVAL_SEED, 0))
        print(
            f"random legal placements: mean={base['mean']:.2f} median={base['median']:.1f} "
            f"max={base['max']:.0f} lines/game ({time.monotonic() - start:.1f}s)"
        )

    def builder(rank: int) -> Any:
        return lambda: make_env(env_config, seed=args.seed + rank)

    vec_cls = SubprocVecEnv if args.vec_env == "subproc" else DummyVecEnv
    venv = VecMonitor(vec_cls([builder(i) for i in range(args.n_envs)]))
    model = PPO(
        kwargs["policy"],
        venv,
        policy_kwargs=policy_kwargs,
        seed=args.seed,
        device="cpu",
        verbose=0,
        **dataclasses.asdict(ppo),
    )
    print(
        f"{'train_min':>9} {'timesteps':>10} {'mean':>9} {'median':>9} {'max':>7} "
        f"{'capped':>6} {'train_games':>11} {'eval_s':>6}",
        flush=True,
    )
    trained = 0.0
    row: dict[str, float] = {"mean": 0.0, "median": 0.0, "max": 0.0}
    while trained < args.minutes * 60 - 1e-6:
        chunk = min(args.eval_every_min * 60, args.minutes * 60 - trained)
        start = time.monotonic()
        model.learn(10**12, callback=TrainingClock(start + chunk), reset_num_timesteps=False)
        trained += time.monotonic() - start
        start = time.monotonic()
        results = play_games(model, args.eval_games, env_config, EVAL_SEED, args.max_pieces)
        row = summarize(results)
        recent = [e["r"] for e in model.ep_info_buffer]
        print(
            f"{trained / 60:9.2f} {model.num_timesteps:10d} {row['mean']:9.1f} "
            f"{row['median']:9.1f} {row['max']:7.0f} {row['capped']:6d} "
            f"{len(recent):11d} {time.monotonic() - start:6.1f}",
            flush=True,
        )
    venv.close()
    print(
        f"final: minutes={trained / 60:.2f} timesteps={model.num_timesteps} "
        f"mean={row['mean']:.1f} median={row['median']:.1f} max={row['max']:.0f}"
    )


if __name__ == "__main__":
    main()
