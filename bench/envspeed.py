"""Placements per second: the batched env, the single placement env, tetris-gymnasium's wrapper.

    python bench/envspeed.py [--seconds 3] [--rounds 3] [--n 64]

All three play masked random legal placements on one core, in the same run,
interleaved round by round (the machine is shared, so only same-run ratios
mean anything):

- ``PlacementVecEnv`` with N games (SB3 VecEnv, auto-reset), as training uses it;
- ``make_env()``: ``PlacementEnv`` in ``GameStatsWrapper``, one game;
- ``GroupedActionsObservations`` + ``FeatureVectorObservation`` (tetris-gymnasium).

Each round prints the three rates; then the median and the min-max spread of
each ratio over rounds. The last line is
``batched_ratio=<batched / PlacementEnv> ratio=<PlacementEnv / grouped>`` (medians).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _run_single(env: Any, mask_of: Any, seconds: float, seed: int) -> float:
    """Placements/s of masked random play of one gymnasium env for about ``seconds``."""
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    steps = 0
    start = time.perf_counter()
    while time.perf_counter() < start + seconds:
        for _ in range(50):
            legal = np.flatnonzero(mask_of(obs, info))
            obs, _, terminated, truncated, info = env.step(int(legal[rng.integers(legal.size)]))
            steps += 1
            if terminated or truncated:
                obs, info = env.reset()
    return steps / (time.perf_counter() - start)


def _run_batched(n: int, seconds: float, seed: int) -> float:
    """Placements/s of masked random play in a ``PlacementVecEnv`` of ``n`` games."""
    from tetris_tui.envs.placement_vec import PlacementVecEnv

    rng = np.random.default_rng(seed)
    env = PlacementVecEnv(n, seed=seed)
    obs = env.reset()
    steps = 0
    start = time.perf_counter()
    while time.perf_counter() < start + seconds:
        for _ in range(10):
            scores = rng.random(obs.shape[:2]) * (obs[:, :, -1] > 0)
            obs, _, _, _ = env.step(scores.argmax(axis=1))
            steps += n
    return steps / (time.perf_counter() - start)


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} (min {min(values):.1f}, max {max(values):.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--n", type=int, default=64, help="games in the batched env")
    args = parser.parse_args()
    if args.seconds <= 0 or args.rounds < 1 or args.n < 1:
        raise SystemExit("envspeed.py: --seconds, --rounds and --n must be positive")

    import gymnasium as gym
    import tetris_gymnasium.envs  # noqa: F401  (registers the env id)
    from tetris_gymnasium.wrappers.grouped import GroupedActionsObservations
    from tetris_gymnasium.wrappers.observation import FeatureVectorObservation

    from tetris_tui.envs import make_env

    base = gym.make("tetris_gymnasium/Tetris")
    grouped = GroupedActionsObservations(
        base,
        observation_wrappers=[FeatureVectorObservation(base)],
        terminate_on_illegal_action=True,
    )
    single = make_env()
    batched_ratios, ratios = [], []
    for r in range(args.rounds):
        seed = r + 1
        batched = _run_batched(args.n, args.seconds, seed)
        ours = _run_single(single, lambda obs, info: obs[:, -1] > 0, args.seconds, seed)
        theirs = _run_single(
            grouped, lambda obs, info: info["action_mask"] > 0, max(args.seconds / 3, 1.0), seed
        )
        batched_ratios.append(batched / ours)
        ratios.append(ours / theirs)
        print(
            f"round {r + 1}: PlacementVecEnv(N={args.n}) {batched:,.0f}  PlacementEnv {ours:,.0f}  "
            f"grouped {theirs:,.0f} placements/s",
            flush=True,
        )
    print(f"batched / PlacementEnv: {_spread(batched_ratios)}")
    print(f"PlacementEnv / grouped: {_spread(ratios)}")
    print(
        f"batched_ratio={statistics.median(batched_ratios):.1f} "
        f"ratio={statistics.median(ratios):.1f}"
    )


if __name__ == "__main__":
    main()
