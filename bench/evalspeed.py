"""Greedy evaluation's placements/s: 1,000 games in one shrinking batch against 10 in env slots.

    python bench/evalspeed.py MODEL.zip [--height 10] [--games 1000] [--old-games 10]

One model (e.g. ``bench/literature.py --save``), one run, the research rules:

- old: how ``play_games`` evaluated until now, ``--old-games`` games in a
  ``PlacementVecEnv`` whose finished slots play on until the last game ends;
- new: ``envs/greedy_batch.play_greedy`` with ``--games`` games, ended games
  dropped from the batch.

Both take the policy's greedy action the same way (``_batched_actions``). The
last line is ``old_pps=… new_pps=… ratio=…`` (placements of recorded games per second).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tetris_tui.config import EnvConfig  # noqa: E402


def old_evaluation(act, n: int, config: EnvConfig, seed: int, cap: int) -> tuple[int, float]:
    """The slot-based evaluation (``PlacementVecEnv``): placements of its n games, seconds."""
    from tetris_tui.envs.placement_vec import PlacementVecEnv

    start = time.perf_counter()
    env = PlacementVecEnv(n, dataclasses.replace(config, max_pieces=cap), seed)
    obs = env.reset()
    active = np.ones(n, dtype=bool)
    pieces = 0
    while active.any():
        obs, _, dones, infos = env.step(act(obs))
        for i in np.flatnonzero(dones & active):
            pieces += infos[i]["game"]["pieces"]
            active[i] = False
    return pieces, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("--height", type=int, choices=(10, 20), default=10)
    parser.add_argument("--games", type=int, default=1_000)
    parser.add_argument("--old-games", type=int, default=10)
    parser.add_argument("--max-pieces", type=int, default=1_000_000)
    args = parser.parse_args()

    import torch
    from stable_baselines3 import PPO

    from tetris_tui.envs.greedy_batch import play_greedy
    from tetris_tui.worker.evaluate import _batched_actions

    torch.set_num_threads(1)
    model = PPO.load(args.model, device="cpu")
    act = _batched_actions(model, deterministic=True)
    config = EnvConfig(rules="research", height=args.height, randomizer="uniform")
    pieces, seconds = old_evaluation(act, args.old_games, config, 1, args.max_pieces)
    old = pieces / seconds
    print(f"old: {args.old_games} games, {pieces:,} placements in {seconds:.1f}s: {old:,.0f}/s")
    run = play_greedy(act, args.games, config, seed=1, max_pieces=args.max_pieces)
    new = run.placements_per_s
    print(
        f"new: {args.games} games, {run.placements:,} placements in {run.seconds:.1f}s: "
        f"{new:,.0f}/s"
    )
    print(f"old_pps={old:.0f} new_pps={new:.0f} ratio={new / old:.1f}")


if __name__ == "__main__":
    main()
