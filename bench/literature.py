"""Our agent on the published records' own rules: train on the research rules, score on fresh seeds.

    python bench/literature.py                      # 60 min on 10x10, 1,000 games
    python bench/literature.py --height 20          # 60 min on 10x20, 20 games
    python bench/literature.py --minutes 5 --save /tmp/research10.zip

Trains what ``tetris-tui --rules research --height H`` trains (``build_vec_env``
and ``new_model`` on ``Config()`` with the research rules: the default PPO, the
batched env; ``--ppo``/``--env`` JSON overrides say what was changed) for
``--minutes`` of training time, then scores the final greedy policy (greedy
play's averaged weights, as ``play`` and evaluation use them) on ``--games``
games from fresh seeds, all in one batch (``envs/greedy_batch.py``), each
capped at ``--max-pieces`` (default 10,000,000 pieces, about 4,000,000 lines:
far above any game seen; 0 = no cap) and the cap is reported. The research
rules are docs/research-rules.md; the published means are in the table there.

Training time and evaluation time are told apart. The last line is
``rules=research height=… minutes=… games=… mean=… ci95=… median=… capped=… cbmpi=…``
followed by ``ratio=`` (our mean over the best published mean for that board),
the cap and the seconds spent training and evaluating.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tetris_tui.config import Config, ConfigError, EnvConfig, PPOConfig  # noqa: E402

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
    args = parser.parse_args()
    if args.minutes <= 0 or (args.games is not None and args.games < 1) or args.max_pieces < 0:
        raise SystemExit("literature.py: --minutes and --games must be positive, --max-pieces >= 0")
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


def main() -> None:
    args = _parse()
    config = _config(args)
    games = args.games or DEFAULT_GAMES[args.height]
    print(f"rules: {config.env}\nppo: {config.ppo}\ncpus={os.cpu_count()}", flush=True)
    if args.model:  # a model trained before (``--save``): its training time is not known here
        from stable_baselines3 import PPO

        model, train_s = PPO.load(args.model, device="cpu"), 0.0
    else:
        model, train_s = _train(config, args.minutes, args.progress_every_s)
    if args.save:
        model.save(args.save)

    from tetris_tui.envs.greedy_batch import play_greedy
    from tetris_tui.worker.evaluate import _batched_actions

    run = play_greedy(
        _batched_actions(model, deterministic=True),
        games,
        config.env,
        seed=SCORE_SEED,
        max_pieces=args.max_pieces,
    )
    lines = [r.lines for r in run.results]
    mean = statistics.fmean(lines)
    ci95 = 1.96 * statistics.stdev(lines) / math.sqrt(len(lines)) if len(lines) > 1 else math.inf
    capped = sum(r.capped for r in run.results)
    best = CBMPI[args.height]
    cap = "none" if not args.max_pieces else f"{args.max_pieces}"
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
