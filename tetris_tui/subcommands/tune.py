"""``tetris-tui tune STUDY_DIR``: search training settings with an Optuna study.

Every mistake is one line and exit 2 before any worker starts; the study is
created (or found) here first, so a wrong ``--storage`` is caught the same way.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from tetris_tui.cli_options import fail, finite_float
from tetris_tui.tune.spec import OBJECTIVE_GAMES, OBJECTIVE_PIECES

NAME = "tune"
HELP = "search training settings: an Optuna study whose trials are runs"
DESCRIPTION = (
    "Run an Optuna study in STUDY_DIR: each trial is a run directory (trial-0007/) trained "
    "by the same trainer as --headless, scored by greedy games on fixed seeds, and pruned "
    "early when its evaluations lag. Run the same command again to resume; give the same "
    "--storage URL and --study on several machines to share one study."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("study_dir", type=Path, metavar="STUDY_DIR", help="trials go here")
    parser.add_argument("--trials", type=int, default=None, metavar="N", help="per worker")
    parser.add_argument(
        "--max-trials",
        type=int,
        default=None,
        metavar="N",
        help="for the whole study (complete, pruned or running; default 100 without --trials)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=max(1, (os.cpu_count() or 2) // 2),
        metavar="K",
        help="trials at once on this machine (default: one per 2 cores)",
    )
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--steps-per-trial", type=int, default=None, metavar="N")
    budget.add_argument("--minutes-per-trial", type=finite_float, default=None, metavar="M")
    parser.add_argument(
        "--eval-every",
        dest="tune_eval_every",
        type=int,
        default=None,
        metavar="STEPS",
        help="report an evaluation to Optuna every STEPS (default: 5 per trial)",
    )
    parser.add_argument(
        "--objective-games",
        type=int,
        default=OBJECTIVE_GAMES,
        metavar="N",
        help=f"greedy games that score a trial, on fixed seeds (default {OBJECTIVE_GAMES})",
    )
    parser.add_argument(
        "--objective-pieces",
        type=int,
        default=OBJECTIVE_PIECES,
        metavar="N",
        help=f"cap on pieces per scoring game (default {OBJECTIVE_PIECES:,})",
    )
    parser.add_argument("--sampler", choices=("tpe", "random"), default="tpe")
    parser.add_argument("--pruner", choices=("median", "halving", "none"), default="median")
    parser.add_argument("--seed", dest="tune_seed", type=int, default=None, metavar="S")
    parser.add_argument("--space", type=Path, default=None, metavar="FILE", help="TOML or YAML")
    parser.add_argument("--storage", default=None, metavar="URL", help="e.g. postgresql://u@h/db")
    parser.add_argument("--study", default=None, metavar="NAME", help="default: tetris-tui")
    parser.add_argument(
        "--trainer-args",
        default="",
        metavar="'OPTS'",
        help="more --headless options for every trial, quoted (e.g. --trainer-args='--device cpu')",
    )
    parser.add_argument(
        "--headless",
        dest="tune_headless",
        action="store_true",
        help="one line per trial event instead of the study screen",
    )


def run(args: argparse.Namespace) -> int:
    from tetris_tui.tune.spec import DEFAULT_STEPS, EVALS_PER_TRIAL, TuneSpec, write_study_file
    from tetris_tui.tune.storage import StorageError, describe, load_study, open_storage

    numbers = ("trials", "max_trials", "workers", "steps_per_trial", "tune_eval_every")
    for name in (*numbers, "objective_games", "objective_pieces"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            fail(f"--{name.removeprefix('tune_').replace('_', '-')} must be > 0, got {value}")
    if args.minutes_per_trial is not None and args.minutes_per_trial <= 0:
        fail(f"--minutes-per-trial must be > 0, got {args.minutes_per_trial}")
    if args.study_dir.exists() and not args.study_dir.is_dir():
        fail(f"{args.study_dir} is not a directory")
    steps = args.steps_per_trial
    if steps is None and args.minutes_per_trial is None:
        steps = DEFAULT_STEPS
    eval_every = args.tune_eval_every or max(1, (steps or DEFAULT_STEPS) // EVALS_PER_TRIAL)
    max_trials = args.max_trials
    if max_trials is None and args.trials is None:
        max_trials = 100
    spec = TuneSpec(
        study_dir=str(args.study_dir.resolve()),
        storage_url=args.storage,
        study_name=args.study or "tetris-tui",
        sampler=args.sampler,
        pruner=args.pruner,
        seed=args.tune_seed,
        trials_per_worker=args.trials,
        max_trials=max_trials,
        workers=args.workers,
        steps_per_trial=steps,
        minutes_per_trial=args.minutes_per_trial,
        eval_every=eval_every,
        objective_games=args.objective_games,
        objective_pieces=args.objective_pieces,
        space=_space(args.space),
        trainer_args=_trainer_args(args.trainer_args),
    )
    if not spec.study_name.strip():
        fail("--study needs a name")
    try:
        args.study_dir.mkdir(parents=True, exist_ok=True)
        load_study(open_storage(spec.storage_url, spec.dir), spec.study_name, create=True)
    except StorageError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot use {args.study_dir}: {exc.strerror or exc}")
    write_study_file(spec, describe(spec.storage_url, spec.dir))
    from tetris_tui.tune.runner import Runner

    try:
        runner = Runner(spec)
    except StorageError as exc:
        fail(str(exc))
    if args.tune_headless or getattr(args, "headless", False) or not sys.stdout.isatty():
        from tetris_tui.tune.lines import run_lines

        return run_lines(runner)
    from tetris_tui.tune.screen import run_screen

    return run_screen(runner)


def _space(path: Path | None) -> dict:
    from tetris_tui.tune.space import (
        DEFAULT_SPACE,
        SpaceError,
        load_space_file,
        space_to_dict,
        training_options,
    )

    if path is None:
        return space_to_dict(DEFAULT_SPACE)
    try:
        return space_to_dict(load_space_file(path, training_options()))
    except SpaceError as exc:
        fail(str(exc))


def _trainer_args(text: str) -> list[str]:
    """Options every trial's trainer gets, checked now against the training parser."""
    from tetris_tui.cli_options import OneLineParser, add_training_options, config_from_args
    from tetris_tui.config import ConfigError

    try:
        words = shlex.split(text)
    except ValueError as exc:
        fail(f"--trainer-args: {exc}")
    reserved = {"--checkpoints", "--total-timesteps", "--eval-every", "--seed"}
    for word in words:
        if word.split("=", 1)[0] in reserved:
            fail(f"--trainer-args: {word.split('=', 1)[0]} is set by tune itself")
    parser = OneLineParser(prog="tetris-tui tune --trainer-args", add_help=False)
    add_training_options(parser)
    try:
        config_from_args(parser.parse_args(words))
    except ConfigError as exc:
        fail(f"--trainer-args: {exc}")
    return words
