"""Our agent on the published records' own rules: train on the research rules, score on fresh seeds.

    python bench/literature.py                      # 60 min on 10x10, 1,000 games
    python bench/literature.py --height 20          # 60 min on 10x20, 20 games
    python bench/literature.py --minutes 5 --save /tmp/research10.zip

Trains what ``tetris-tui --rules research --height H`` trains (``build_vec_env``
and ``new_model`` on ``Config()`` with the research rules: the default PPO, the
batched env; ``--ppo``/``--env`` JSON overrides say what was changed) for
``--minutes`` of training time, then scores the final greedy policy (greedy
play's averaged weights, as ``play`` and evaluation use them) on ``--games``
games from fresh seeds, batched (``envs/greedy_batch.py``) in ``--jobs``
processes, each game capped at ``--max-pieces`` (default 10,000,000 pieces,
about 4,000,000 lines: far above any game seen; 0 = no cap) and the cap is
reported. A strong 10x20 policy plays games over an hour of a core long:
``--score-minutes M`` ends the scoring after M minutes, counting the games still
playing as capped where they stand (the mean is then a lower bound). The research
rules are docs/research-rules.md; the published means are in the table there.

Training time and evaluation time are told apart. The last line is
``rules=research height=… minutes=… games=… mean=… ci95=… median=… capped=… cbmpi=…``
followed by ``ratio=`` (our mean over the best published mean for that board),
the cap and the seconds spent training and evaluating.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tetris_tui.config import Config, ConfigError, EnvConfig, PPOConfig  # noqa: E402
from tetris_tui.envs.greedy_batch import GreedyRun  # noqa: E402

# Fresh seeds: training seeds its games from --seed upward, these are far from them.
SCORE_SEED = 7_000_001
# Mean lines/game of CBMPI (Scherrer et al., JMLR 16:1629, 2015), the best published.
CBMPI = {10: 5_000, 20: 51_000_000}
DEFAULT_GAMES = {10: 1_000, 20: 20}
DEFAULT_CAP = 10_000_000


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="training time")
    parser.add_argument("--height", type=int, choices=(10, 20), default=10)
    parser.add_argument("--games", type=int, default=None, help="1,000 on 10x10, 20 on 10x20")
    parser.add_argument("--max-pieces", type=int, default=DEFAULT_CAP, help="cap per game")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=Config().torch_threads)
    parser.add_argument("--ppo", default="{}", help="JSON overrides of PPOConfig fields")
    parser.add_argument("--env", default="{}", help="JSON overrides of EnvConfig fields")
    parser.add_argument("--progress-every-s", type=float, default=60.0, help="progress lines")
    parser.add_argument("--save", default=None, help="save the final model here (.zip)")
    parser.add_argument("--model", default=None, help="score this saved model (.zip), no training")
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="scoring processes (cores)"
    )
    parser.add_argument(
        "--score-minutes",
        type=float,
        default=0.0,
        help="scoring budget (0 = none); games still running then count as capped",
    )
    args = parser.parse_args()
    if (
        args.minutes <= 0
        or (args.games is not None and args.games < 1)
        or min(args.max_pieces, args.score_minutes) < 0
        or args.jobs < 1
    ):
        raise SystemExit(
            "literature.py: --minutes, --games and --jobs must be positive, "
            "--max-pieces and --score-minutes >= 0"
        )
    return args


def _config(args: argparse.Namespace) -> Config:
    research = EnvConfig(rules="research", height=args.height, randomizer="uniform")
    try:
        return Config().replace(
            seed=args.seed,
            device="cpu",
            torch_threads=args.threads,
            env=dataclasses.replace(research, **json.loads(args.env)),
            ppo=dataclasses.replace(PPOConfig(), **json.loads(args.ppo)),
        )
    except (ConfigError, TypeError, ValueError) as exc:
        raise SystemExit(f"literature.py: {exc}") from None


def _game_lines():
    """SB3 callback keeping the lines of the last 100 training games (``info["game"]``)."""
    from collections import deque

    from stable_baselines3.common.callbacks import BaseCallback

    class _Games(BaseCallback):
        lines: deque = deque(maxlen=100)

        def _on_step(self) -> bool:
            for info in self.locals.get("infos", ()):
                if "game" in info:
                    self.lines.append(info["game"]["lines"])
            return True

    return _Games()


def _train(config: Config, minutes: float, progress_every_s: float):
    """The model after ``minutes`` of training, and the seconds it trained."""
    from learning import training_clock
    from stable_baselines3.common.callbacks import CallbackList

    from tetris_tui.worker.model_factory import build_vec_env, configure_torch, new_model

    configure_torch(config)
    venv = build_vec_env(config)
    model = new_model(config, venv)
    trained, budget = 0.0, minutes * 60
    games = _game_lines()
    print(f"{'train_s':>8} {'timesteps':>10} {'steps/s':>8} {'lines/game, last 100':>21}")
    while trained < budget - 1e-6:
        t0 = time.monotonic()
        chunk = min(progress_every_s, budget - trained)
        clock = CallbackList([training_clock(t0 + chunk), games])
        model.learn(10**12, callback=clock, reset_num_timesteps=False)
        trained += time.monotonic() - t0
        lines = "-" if not games.lines else f"{statistics.fmean(games.lines):,.1f}"
        steps = model.num_timesteps
        print(f"{trained:8.0f} {steps:10d} {steps / trained:8.0f} {lines:>21}", flush=True)
    venv.close()
    return model, trained


def _score_slice(job: tuple) -> GreedyRun:
    """One scoring process: games ``first..first+n`` (game i is seeded SCORE_SEED + i)."""
    path, first, n, env, max_pieces, deadline, progress_every_s = job
    import torch
    from stable_baselines3 import PPO

    from tetris_tui.envs.greedy_batch import play_greedy
    from tetris_tui.worker.evaluate import _batched_actions

    torch.set_num_threads(1)
    act = _batched_actions(PPO.load(path, device="cpu"), deterministic=True)
    said = [time.monotonic()]

    def on_step(steps: int, finished: int) -> bool:
        now = time.time()
        if time.monotonic() - said[0] >= progress_every_s:
            said[0] = time.monotonic()
            print(f"  games {first}-{first + n - 1}: {finished}/{n} ended, "
                  f"the longest at {steps:,} pieces", flush=True)  # fmt: skip
        return deadline is not None and now >= deadline

    return play_greedy(act, n, env, SCORE_SEED + first, max_pieces, on_step, keep_unfinished=True)


def score(path: str, games: int, env: EnvConfig, args: argparse.Namespace) -> GreedyRun:
    """Every game scored, split over ``--jobs`` processes: the same games as one batch."""
    jobs = min(args.jobs, games)
    deadline = time.time() + 60 * args.score_minutes if args.score_minutes else None
    bounds = [round(games * j / jobs) for j in range(jobs + 1)]
    slices = [
        (path, lo, hi - lo, env, args.max_pieces, deadline, args.progress_every_s)
        for lo, hi in itertools.pairwise(bounds)
    ]
    start = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(jobs) as pool:
        runs = pool.map(_score_slice, slices)
    results = [r for run in runs for r in run.results]
    return GreedyRun(results, sum(r.placements for r in runs), time.perf_counter() - start)


def main() -> None:
    args = _parse()
    config = _config(args)
    games = args.games or DEFAULT_GAMES[args.height]
    print(f"rules: {config.env}\nppo: {config.ppo}\ncpus={os.cpu_count()}", flush=True)
    if args.model:  # trained before (``--save``): its training time is not known here
        path, train_s = args.model, 0.0
    else:
        model, train_s = _train(config, args.minutes, args.progress_every_s)
        path = args.save or tempfile.mkstemp(suffix=".zip", prefix="literature-")[1]
        model.save(path)  # the scoring processes load it
    try:
        run = score(path, games, config.env, args)
    finally:
        if not (args.model or args.save):
            os.unlink(path)
    lines = [r.lines for r in run.results]
    mean = statistics.fmean(lines)
    ci95 = 1.96 * statistics.stdev(lines) / math.sqrt(len(lines)) if len(lines) > 1 else math.inf
    capped = sum(r.capped for r in run.results)
    best = CBMPI[args.height]
    cap = "none" if not args.max_pieces else f"{args.max_pieces}"
    if args.score_minutes:  # games cut off by the budget count as capped
        cap += f",{args.score_minutes:g}min"
    print(
        f"scored {len(lines)} games: {run.placements:,} placements in {run.seconds:.1f}s "
        f"({run.placements_per_s:,.0f} placements/s), max {max(lines):,} lines"
    )
    print(
        f"rules=research height={args.height} minutes={args.minutes:g} games={len(lines)} "
        f"mean={mean:.1f} ci95={ci95:.1f} median={statistics.median(lines):g} capped={capped} "
        f"cbmpi={best} ratio={mean / best:.3g} cap={cap} train_s={train_s:.0f} "
        f"eval_s={run.seconds:.0f}"
    )


if __name__ == "__main__":
    main()
