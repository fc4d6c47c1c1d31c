"""PPO training steps per second: today's default against the previous one.

    python bench/throughput.py [--steps 65536] [--rounds 3]

Both train real PPO (``PlacementPolicy``) from scratch on 1 torch thread, in the
same run, interleaved: each round trains each side for ``--steps`` more steps
(rounded up to whole rollouts) and times it.

- new: ``build_vec_env`` + ``new_model`` on ``Config()`` (the batched env and the
  current PPO defaults), what ``tetris-tui`` trains;
- old: 4 ``make_env()`` placement envs in a ``DummyVecEnv`` with the PPO
  settings that were the default before the batched env (``OLD_PPO``).

Prints each round's steps/s, then the median and min-max spread of the ratio;
the last line is ``speedup=<median new/old>``.
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
)
OLD_ENVS = 4


def _models() -> tuple[Any, Any]:
    from tetris_tui.worker.model_factory import build_vec_env, configure_torch, new_model

    new_config = Config(seed=1, torch_threads=1)
    old_config = Config(seed=1, torch_threads=1, n_envs=OLD_ENVS, vec_env="dummy", ppo=OLD_PPO)
    configure_torch(new_config)
    new = new_model(new_config, build_vec_env(new_config))
    old = new_model(old_config, build_vec_env(old_config))
    return new, old


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
    new, old = _models()
    config = Config()
    print(f"new: PlacementVecEnv x {config.num_envs}, {config.ppo}")
    print(f"old: PlacementEnv x {OLD_ENVS} in DummyVecEnv, {OLD_PPO}")
    ratios = []
    for r in range(args.rounds):
        new_rate = _train(new, args.steps)
        old_rate = _train(old, args.steps)
        ratios.append(new_rate / old_rate)
        print(f"round {r + 1}: new {new_rate:,.0f}  old {old_rate:,.0f} steps/s", flush=True)
    print(
        f"new / old: median {statistics.median(ratios):.1f} "
        f"(min {min(ratios):.1f}, max {max(ratios):.1f})"
    )
    print(f"speedup={statistics.median(ratios):.1f}")


if __name__ == "__main__":
    main()
