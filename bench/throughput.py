"""PPO training steps per second: today's default against the previous one.

    python bench/throughput.py [--steps 65536] [--rounds 3]

Both train real PPO (``PlacementPolicy``) from scratch on 1 torch thread, in the
same run, interleaved: each round trains each side for ``--steps`` more steps
(rounded up to whole rollouts) and times it.

- new: ``build_vec_env`` + ``new_model`` on ``Config()`` (the batched env and the
  current PPO defaults), what ``tetris-tui`` trains;
- old: 4 ``make_env()`` placement envs in a ``DummyVecEnv`` with the PPO
  settings that were the default before the batched env (``OLD_PPO``), trained
  by stock ``stable_baselines3.PPO``, as the previous default was;
- sb3: the new default's env and settings with the stock ``PPO`` update in
  place of ``LeanPPO``, to show what the lean update alone is worth.

Prints each round's steps/s, then the median and min-max spread of the ratios;
the last line is ``speedup=<median new/old> lean_gain=<median new/sb3>``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tetris_tui.config import Config, PPOConfig  # noqa: E402

OLD_PPO = PPOConfig(
    learning_rate=3e-4,
    n_steps=512,
    batch_size=256,
    n_epochs=4,
    gamma=0.99,
    gae_lambda=0.95,
    clip_range=0.2,
    ent_coef=0.01,
    vf_coef=0.5,
    max_grad_norm=0.5,
    greedy_average_steps=0,  # stock PPO plays its live weights
)
OLD_ENVS = 4


def _models() -> tuple[Any, Any, Any]:
    from stable_baselines3 import PPO

    from tetris_tui.worker.model_factory import build_vec_env, configure_torch, new_model

    new_config = Config(seed=1, torch_threads=1)
    old_config = Config(seed=1, torch_threads=1, n_envs=OLD_ENVS, vec_env="dummy", ppo=OLD_PPO)
    configure_torch(new_config)
    new = new_model(new_config, build_vec_env(new_config))
    sb3 = new_model(new_config, build_vec_env(new_config), algorithm=PPO)
    old = new_model(old_config, build_vec_env(old_config), algorithm=PPO)
    return new, sb3, old


def _train(model: Any, steps: int) -> float:
    """Steps/s of ``model.learn`` for at least ``steps`` more steps."""
    before = model.num_timesteps
    start = time.perf_counter()
    model.learn(steps, reset_num_timesteps=False)
    return (model.num_timesteps - before) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=65_536)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.steps < 1 or args.rounds < 1:
        raise SystemExit("throughput.py: --steps and --rounds must be positive")
    new, sb3, old = _models()
    config = Config()
    print(f"new: PlacementVecEnv x {config.num_envs}, LeanPPO, {config.ppo}")
    print("sb3: the same with stable_baselines3.PPO's update")
    print(f"old: PlacementEnv x {OLD_ENVS} in DummyVecEnv, stable_baselines3.PPO, {OLD_PPO}")
    speedups, gains = [], []
    for r in range(args.rounds):
        new_rate = _train(new, args.steps)
        old_rate = _train(old, args.steps)
        sb3_rate = _train(sb3, args.steps)
        speedups.append(new_rate / old_rate)
        gains.append(new_rate / sb3_rate)
        print(
            f"round {r + 1}: new {new_rate:,.0f}  sb3 {sb3_rate:,.0f}  old {old_rate:,.0f} steps/s",
            flush=True,
        )
    for name, ratios in (("new / old", speedups), ("new / sb3", gains)):
        print(
            f"{name}: median {statistics.median(ratios):.2f} "
            f"(min {min(ratios):.2f}, max {max(ratios):.2f})"
        )
    print(f"speedup={statistics.median(speedups):.1f} lean_gain={statistics.median(gains):.2f}")


if __name__ == "__main__":
    main()
