"""Options shared by the command line's parsers, and the mapping onto Config.

Every mistake in the command line ends in one line on stderr and exit code 2,
before any process is started: ``OneLineParser`` and ``fail`` see to that.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import NoReturn

from tetris_tui.config import ENV_KINDS, Config, EnvConfig, PPOConfig

EXIT_USAGE = 2


class OneLineParser(argparse.ArgumentParser):
    """argparse, but errors are one line instead of usage plus message."""

    def error(self, message: str) -> NoReturn:
        fail(message)


def fail(message: str) -> NoReturn:
    print(f"tetris-tui: error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


def finite_float(text: str) -> float:
    """A float option's type: ``nan`` and ``inf`` would slip past every range check."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def add_run_dir_option(parser: argparse.ArgumentParser, shared: bool = False) -> None:
    """``--checkpoints DIR``. ``shared``: a sub-command's copy, which keeps the value
    given before the sub-command's name unless it is given again after it."""
    parser.add_argument(
        "--checkpoints",
        metavar="DIR",
        type=Path,
        default=argparse.SUPPRESS if shared else Path("checkpoints"),
        help="run directory for checkpoints and history (default: ./checkpoints)",
    )


def add_training_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by the app and --headless."""
    defaults = Config()
    add_run_dir_option(parser)
    group = parser.add_argument_group("training")
    group.add_argument(
        "--total-timesteps",
        type=int,
        default=defaults.total_timesteps,
        metavar="N",
        help="train until this many timesteps in total",
    )
    group.add_argument(
        "--env",
        choices=ENV_KINDS,
        default=defaults.env.kind,
        help="placement (one action places a piece; default) or raw (per key)",
    )
    group.add_argument(
        "--n-envs",
        type=int,
        default=defaults.n_envs,
        metavar="K",
        help=f"games in parallel (default {defaults.num_envs} placement, 4 raw)",
    )
    group.add_argument(
        "--vec-env",
        choices=("auto", "dummy", "subproc"),
        default=defaults.vec_env,
        help="run envs in-process (dummy) or in subprocesses (subproc)",
    )
    group.add_argument(
        "--env-procs",
        type=int,
        default=defaults.env_procs,
        metavar="P",
        help="processes that step the batched placement games, each a share "
        f"(default {defaults.env_procs}; more only pays on a machine with spare cores)",
    )
    group.add_argument("--seed", type=int, default=None, metavar="S")
    group.add_argument("--device", default=defaults.device, help="auto, cpu or cuda")
    group.add_argument(
        "--torch-threads",
        type=int,
        default=defaults.torch_threads,
        metavar="N",
        help=f"threads for torch in the worker (default {defaults.torch_threads}; 0 = torch's)",
    )
    group.add_argument(
        "--checkpoint-every",
        type=int,
        default=defaults.checkpoint_every,
        metavar="STEPS",
        help="save latest every this many timesteps",
    )
    group.add_argument(
        "--target-lines",
        type=finite_float,
        default=None,
        metavar="N",
        help="stop once mean lines/game over the last 100 games reaches N",
    )
    group.add_argument(
        "--eval-every",
        type=int,
        default=None,
        metavar="STEPS",
        help="play a few greedy evaluation games every STEPS timesteps",
    )
    group.add_argument("--eval-games", type=int, default=defaults.eval_games, metavar="N")
    group.add_argument(
        "--max-pieces",
        type=int,
        default=defaults.env.max_pieces,
        metavar="N",
        help="end a training game after N pieces (0 = never)",
    )
    add_rules_options(group)
    rewards = parser.add_argument_group("rewards (placement env)")
    for name, default, meaning in (
        ("line", defaults.env.reward_line, "per cleared line"),
        ("alive", defaults.env.reward_alive, "per placed piece that does not end the game"),
        ("game-over", defaults.env.reward_game_over, "on the placement that ends the game"),
    ):
        rewards.add_argument(
            f"--reward-{name}", type=finite_float, default=default, metavar="R", help=meaning
        )
    ppo = parser.add_argument_group("PPO")
    ppo.add_argument("--learning-rate", type=finite_float, default=defaults.ppo.learning_rate)
    ppo.add_argument("--n-steps", type=int, default=defaults.ppo.n_steps)
    ppo.add_argument("--batch-size", type=int, default=defaults.ppo.batch_size)
    ppo.add_argument("--n-epochs", type=int, default=defaults.ppo.n_epochs)
    ppo.add_argument("--ent-coef", type=finite_float, default=defaults.ppo.ent_coef)
    ppo.add_argument("--gamma", type=finite_float, default=defaults.ppo.gamma)
    ppo.add_argument(
        "--greedy-average-steps",
        type=int,
        default=defaults.ppo.greedy_average_steps,
        metavar="N",
        help="greedy play (evaluation, best, the spectator) uses the weights averaged over "
        f"about N timesteps (default {defaults.ppo.greedy_average_steps:,}; 0 = live weights)",
    )
    ppo.add_argument(
        "--value-width",
        type=int,
        default=defaults.ppo.value_width,
        metavar="N",
        help=f"the critic's two hidden layers (default {defaults.ppo.value_width}; "
        "placement env; a resumed run keeps its own)",
    )
    ppo.add_argument(
        "--scorer-width",
        type=int,
        default=defaults.ppo.scorer_width,
        metavar="N",
        help="the placement scorer: 0 = linear in the board's features (default), "
        "N = one hidden layer of N",
    )
    logs = parser.add_argument_group("logs for other tools (stable-baselines3's logger)")
    logs.add_argument(
        "--tensorboard",
        metavar="DIR",
        default=None,
        help="write TensorBoard event files to DIR/<run directory's name> "
        "(needs: pip install 'tetris-tui[tensorboard]')",
    )
    logs.add_argument(
        "--csv", action="store_true", help="write SB3's progress.csv into the run directory"
    )
    view = parser.add_argument_group("watching")
    view.add_argument(
        "--fps",
        type=finite_float,
        default=defaults.fps,
        help=f"board frames per second (default {defaults.fps:g}; 0 = off)",
    )
    view.add_argument(
        "--pace",
        type=finite_float,
        default=defaults.pace,
        metavar="N",
        help=f"the spectator's placements per second (default {defaults.pace:g}; 0 = instant); "
        "+ and - change it in the app, never training's speed",
    )
    view.add_argument(
        "--step-delay",
        type=finite_float,
        default=defaults.step_delay,
        metavar="SECONDS",
        help="pause after each step, to watch slowly (default 0)",
    )


def add_rules_options(group: argparse._ActionsContainer, dest: str = "") -> None:
    """``--rules``, ``--height`` and ``--randomizer`` (docs/research-rules.md)."""
    from tetris_tui.rules.base import HEIGHTS, RANDOMIZERS, RULE_SETS

    group.add_argument(
        "--rules",
        dest=f"{dest}rules",
        choices=tuple(RULE_SETS),
        default=None,
        help="gymnasium (tetris-gymnasium's, the default) or research (MDPTetris' "
        "simplified rules of the published results: uniform pieces, no preview)",
    )
    group.add_argument(
        "--height",
        dest=f"{dest}height",
        type=int,
        choices=HEIGHTS,
        default=None,
        help="board rows: 20 (default) or 10 (research rules only)",
    )
    group.add_argument(
        "--randomizer",
        dest=f"{dest}randomizer",
        choices=RANDOMIZERS,
        default=None,
        help="how tetris-gymnasium's rules deal pieces: bag (default) or uniform",
    )


def rules_from_args(args: argparse.Namespace, dest: str = "") -> dict[str, object]:
    """The EnvConfig fields the rules options ask for (none when none was given)."""
    rules, height, randomizer = (getattr(args, f"{dest}{k}", None) for k in RULE_FIELDS)
    if rules is None and height is None and randomizer is None:
        return {}
    rules = rules or ("research" if height == 10 else "gymnasium")
    if randomizer is None:
        randomizer = "uniform" if rules == "research" else "bag"
    return {"rules": rules, "height": height or 20, "randomizer": randomizer}


RULE_FIELDS = ("rules", "height", "randomizer")


def config_from_args(args: argparse.Namespace) -> Config:
    """Map parsed options onto the one Config; ConfigError says what is wrong."""
    env = EnvConfig(
        kind=args.env,
        max_pieces=args.max_pieces,
        **rules_from_args(args),  # type: ignore[arg-type]
        reward_line=args.reward_line,
        reward_alive=args.reward_alive,
        reward_game_over=args.reward_game_over,
    )
    ppo = PPOConfig(
        learning_rate=args.learning_rate,
        n_steps=args.n_steps,
        batch_size=args.batch_size,
        n_epochs=args.n_epochs,
        ent_coef=args.ent_coef,
        gamma=args.gamma,
        greedy_average_steps=args.greedy_average_steps,
        value_width=args.value_width,
        scorer_width=args.scorer_width,
    )
    return Config(
        total_timesteps=args.total_timesteps,
        n_envs=args.n_envs,
        vec_env=args.vec_env,
        env_procs=args.env_procs,
        seed=args.seed,
        device=args.device,
        torch_threads=args.torch_threads,
        run_dir=args.checkpoints,
        checkpoint_every=args.checkpoint_every,
        fps=args.fps,
        step_delay=args.step_delay,
        pace=args.pace,
        target_lines=args.target_lines,
        eval_every=args.eval_every,
        eval_games=args.eval_games,
        tensorboard=args.tensorboard,
        csv=args.csv,
        env=env,
        ppo=ppo,
    )
