"""Placements per second: our placement env vs tetris-gymnasium's grouped wrapper.

    python bench/envspeed.py [--seconds 5]

Both play masked random legal placements on one core, in the same run: ours via
``tetris_tui.envs.make_env`` (the placement env inside GameStatsWrapper, as
training uses it), theirs as ``GroupedActionsObservations`` with
``FeatureVectorObservation``. The last line is ``ratio=<ours / theirs>``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _run(env: Any, mask_of: Any, seconds: float, seed: int = 1) -> tuple[float, int]:
    """Placements/s of masked random play for about ``seconds``; also games finished."""
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    steps = games = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(50):
            legal = np.flatnonzero(mask_of(obs, info))
            obs, _, terminated, truncated, info = env.step(int(legal[rng.integers(legal.size)]))
            steps += 1
            if terminated or truncated:
                games += 1
                obs, info = env.reset()
        if time.perf_counter() >= deadline:
            break
    return steps / (time.perf_counter() - start), games


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()

    import gymnasium as gym
    import tetris_gymnasium.envs  # noqa: F401  (registers the env id)
    from tetris_gymnasium.wrappers.grouped import GroupedActionsObservations
    from tetris_gymnasium.wrappers.observation import FeatureVectorObservation

    from tetris_tui.envs import make_env

    ours = make_env()
    ours_rate, ours_games = _run(ours, lambda obs, info: obs[:, -1] > 0, args.seconds)
    print(f"placement env (tetris_tui): {ours_rate:,.0f} placements/s ({ours_games} games)")

    base = gym.make("tetris_gymnasium/Tetris")
    theirs = GroupedActionsObservations(
        base,
        observation_wrappers=[FeatureVectorObservation(base)],
        terminate_on_illegal_action=True,
    )
    theirs_rate, theirs_games = _run(
        theirs, lambda obs, info: info["action_mask"] > 0, max(args.seconds / 2, 1.0)
    )
    print(
        f"GroupedActionsObservations + FeatureVectorObservation: {theirs_rate:,.0f} placements/s "
        f"({theirs_games} games)"
    )
    print(f"ratio={ours_rate / theirs_rate:.1f}")


if __name__ == "__main__":
    main()
