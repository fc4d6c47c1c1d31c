"""How fast does the default config learn? Train from scratch and evaluate on a clock.

    python bench/learning.py [--minutes 3] [--eval-every-s 15] [--max-pieces 10000]
    python bench/learning.py --minutes 60 --max-pieces 3000000 --eval-every-s 900 \
        --eval-in-background   # how far it gets (its games run beside training)

Trains exactly what ``tetris-tui`` trains by default (``build_vec_env`` and
``new_model`` on ``Config()``: the batched placement env and the default PPO),
optionally with overrides, and every ``--eval-every-s`` seconds of TRAINING time
plays 10 greedy games from fixed seeds in one batched env, capped at
``--max-pieces``, played as ``predict(deterministic=True)`` plays: by the
averaged weights, in process or from a saved copy alike
(``--ppo '{"greedy_average_steps": 0}'`` plays the live ones). The clock is
paused while the games run, and it is read at rollout boundaries, so every row
follows a whole PPO update. With
``--eval-in-background`` the games of each evaluation (a saved copy of the
model) run in a second process while training goes on: on 2 cores a game
millions of pieces long then costs training a core's share, not its wall time.

The last line is
``final: train_s=… timesteps=… mean=… median=… max=… to_1000_steps=… to_1000_s=…``:
the timesteps and training seconds until the 10-game mean first reached 1,000
lines (``None``/``none`` if it never did). On a shared machine the seconds move
with the load but the steps do not (training is seeded); ``--eval-every-steps``
evaluates on a step clock instead, for sweeps.
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

from tetris_tui.config import Config, ConfigError, PPOConfig  # noqa: E402
from tetris_tui.worker.evaluate import play_games, summarize  # noqa: E402

EVAL_SEED = 10_001
SKILL = 1_000.0


class RandomLegal:
    """A model-like baseline: a uniformly random legal placement."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> tuple[np.ndarray, None]:
        scores = self.rng.random(obs.shape[:2]) * (obs[:, :, -1] > 0)
        return scores.argmax(axis=1), None


def training_clock(deadline: float) -> Any:
    """SB3 callback: stop ``learn`` at the first rollout that starts after ``deadline``."""
    from stable_baselines3.common.callbacks import BaseCallback

    class _Clock(BaseCallback):
        stop = False

        def _on_rollout_start(self) -> None:
            self.stop = time.monotonic() >= deadline

        def _on_step(self) -> bool:
            return not self.stop

    return _Clock()


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--eval-every-s", type=float, default=15.0)
    parser.add_argument(
        "--eval-every-steps",
        type=int,
        default=0,
        help="evaluate every N timesteps instead (for sweeps on a busy machine: load-independent)",
    )
    parser.add_argument("--eval-games", type=int, default=10)
    parser.add_argument("--max-pieces", type=int, default=10_000)
    parser.add_argument("--n-envs", type=int, default=None, help="games in parallel")
    parser.add_argument("--vec-env", choices=("auto", "dummy", "subproc"), default="auto")
    parser.add_argument("--threads", type=int, default=Config().torch_threads)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ppo", default="{}", help="JSON overrides of PPOConfig fields")
    parser.add_argument("--env", default="{}", help="JSON overrides of EnvConfig fields")
    parser.add_argument("--policy", default="{}", help="JSON overrides of policy kwargs")
    parser.add_argument("--stop-at-skill", action="store_true", help="stop at 1,000 lines")
    parser.add_argument(
        "--eval-in-background",
        action="store_true",
        help="play each evaluation in a second process while training goes on (for very long "
        "games, e.g. a 3,000,000-piece cap: rows then print as their games end)",
    )
    return parser.parse_args()


def _config(args: argparse.Namespace) -> Config:
    base = Config()
    try:
        return base.replace(
            n_envs=args.n_envs,
            vec_env=args.vec_env,
            seed=args.seed,
            device=args.device,
            torch_threads=args.threads,
            env=dataclasses.replace(base.env, **json.loads(args.env)),
            ppo=dataclasses.replace(PPOConfig(), **json.loads(args.ppo)),
        )
    except (ConfigError, TypeError, ValueError) as exc:
        raise SystemExit(f"learning.py: {exc}") from None


def main() -> None:
    args = _parse()
    config = _config(args)
    from tetris_tui.worker.model_factory import build_vec_env, configure_torch, new_model

    configure_torch(config)
    print(f"env: {config.env}\nppo: {config.ppo}\npolicy overrides: {args.policy}")
    print(f"n_envs={config.num_envs} vec_env={config.vec_env} torch_threads={args.threads}")
    print(f"cpus={os.cpu_count()} eval: {args.eval_games} greedy games, cap {args.max_pieces}")
    start = time.monotonic()
    base = summarize(play_games(RandomLegal(), args.eval_games, config.env, EVAL_SEED, 0))
    print(f"random legal: mean={base['mean']:.2f} lines/game ({time.monotonic() - start:.1f}s)")

    venv = build_vec_env(config)
    model = new_model(config, venv)
    if args.policy != "{}":
        kwargs = {**model.policy_kwargs, **json.loads(args.policy)}
        model = type(model)(type(model.policy), venv, **_ppo_kwargs(config), policy_kwargs=kwargs)
    print(
        f"{'train_s':>8} {'timesteps':>10} {'steps/s':>8} {'mean':>9} {'median':>9} "
        f"{'max':>8} {'capped':>6} {'eval_s':>6}",
        flush=True,
    )
    table = Table(args.eval_in_background)
    trained = 0.0
    while trained < args.minutes * 60 - 1e-6:
        chunk = min(args.eval_every_s, args.minutes * 60 - trained)
        t0 = time.monotonic()
        if args.eval_every_steps > 0:
            model.learn(args.eval_every_steps, reset_num_timesteps=False)
        else:
            model.learn(10**12, callback=training_clock(t0 + chunk), reset_num_timesteps=False)
        trained += time.monotonic() - t0
        table.evaluate(model, trained, args, config)
        if args.stop_at_skill and table.to_skill is not None:
            break
    venv.close()
    table.finish()
    row = table.last
    print(
        f"final: train_s={trained:.1f} timesteps={model.num_timesteps} mean={row['mean']:.1f} "
        f"median={row['median']:.1f} max={row['max']:.0f} to_1000_steps={table.steps_to_skill} "
        f"to_1000_s={'none' if table.to_skill is None else f'{table.to_skill:.1f}'}"
    )


def evaluate_saved(path: str, args: argparse.Namespace, env: Any) -> tuple[dict[str, float], float]:
    """Load a saved model and play the evaluation games (in a second process)."""
    import torch
    from stable_baselines3 import PPO

    torch.set_num_threads(1)
    t0 = time.monotonic()
    model = PPO.load(path, device="cpu")
    results = play_games(model, args.eval_games, env, EVAL_SEED, args.max_pieces)
    return summarize(results), time.monotonic() - t0


class Table:
    """Evaluations in order, played here (training waits) or in a second process."""

    def __init__(self, background: bool) -> None:
        self.to_skill: float | None = None
        self.steps_to_skill: int | None = None
        self.last: dict[str, float] = {"mean": 0.0, "median": 0.0, "max": 0.0}
        self.pending: list[tuple[float, int, Any]] = []
        self.pool = None
        self.folder = None
        if background:
            import multiprocessing
            import tempfile
            from concurrent.futures import ProcessPoolExecutor

            context = multiprocessing.get_context("spawn")
            self.pool = ProcessPoolExecutor(max_workers=1, mp_context=context)
            self.folder = tempfile.TemporaryDirectory(prefix="learning-evals-")

    def evaluate(self, model: Any, trained: float, args: argparse.Namespace, config: Any) -> None:
        timesteps = model.num_timesteps
        if self.pool is None:
            t0 = time.monotonic()
            results = play_games(model, args.eval_games, config.env, EVAL_SEED, args.max_pieces)
            self._row(trained, timesteps, summarize(results), time.monotonic() - t0)
            return
        path = str(Path(self.folder.name) / f"at-{timesteps}.zip")
        model.save(path)
        future = self.pool.submit(evaluate_saved, path, args, config.env)
        self.pending.append((trained, timesteps, future))
        self._print_done(wait=False)

    def finish(self) -> None:
        self._print_done(wait=True)
        if self.pool is not None:
            self.pool.shutdown()
            self.folder.cleanup()

    def _print_done(self, wait: bool) -> None:
        while self.pending and (wait or self.pending[0][2].done()):
            trained, timesteps, future = self.pending.pop(0)
            row, eval_s = future.result()
            self._row(trained, timesteps, row, eval_s)

    def _row(self, trained: float, timesteps: int, row: dict[str, float], eval_s: float) -> None:
        self.last = row
        if self.to_skill is None and row["mean"] >= SKILL:
            self.to_skill, self.steps_to_skill = trained, timesteps
        print(
            f"{trained:8.1f} {timesteps:10d} {timesteps / trained:8.0f} "
            f"{row['mean']:9.1f} {row['median']:9.1f} {row['max']:8.0f} {row['capped']:6d} "
            f"{eval_s:6.1f}",
            flush=True,
        )


def _ppo_kwargs(config: Config) -> dict[str, Any]:
    return {**dataclasses.asdict(config.ppo), "seed": config.seed, "device": config.device}


if __name__ == "__main__":
    main()
