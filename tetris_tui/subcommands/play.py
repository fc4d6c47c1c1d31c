"""``tetris-tui play [MODEL]``: watch a saved agent play, or score it headless."""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from tetris_tui.cli_options import (
    add_rules_options,
    add_run_dir_option,
    fail,
    finite_float,
    rules_from_args,
)
from tetris_tui.config import Config, ConfigError
from tetris_tui.preflight import check_device
from tetris_tui.runs.checkpoints import BEST, LATEST, CheckpointError, resolve_model

NAME = "play"
HELP = "watch a saved model play (nothing trains)"
DESCRIPTION = "Watch a saved agent play (greedy; nothing is trained)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model", nargs="?", default=None, help="latest, best, final, a slot name or a path"
    )
    add_run_dir_option(parser, shared=True)
    # ``play_*`` names: the training options of the same names mean other things.
    parser.add_argument(
        "--headless",
        dest="play_headless",
        action="store_true",
        help="play at full speed, print games",
    )
    parser.add_argument(
        "--games", type=int, default=10, metavar="N", help="games to play with --headless"
    )
    parser.add_argument("--seed", dest="play_seed", type=int, default=None, metavar="S")
    parser.add_argument("--device", dest="play_device", default="cpu", metavar="DEVICE")
    parser.add_argument(
        "--max-pieces",
        dest="play_max_pieces",
        type=int,
        default=10_000,
        metavar="N",
        help="cap per game",
    )
    parser.add_argument(
        "--pace",
        dest="play_pace",
        type=finite_float,
        default=5.0,
        metavar="N",
        help="placements per second for placement-env models (0 = instant; default 5)",
    )
    parser.add_argument(
        "--step-delay",
        dest="play_step_delay",
        type=finite_float,
        default=0.15,
        metavar="SECONDS",
        help="seconds between moves",
    )
    # The model plays the rules it was trained on unless these ask for others.
    add_rules_options(parser.add_argument_group("rules (default: the model's own)"), "play_")


def run(args: argparse.Namespace) -> int:
    if args.games <= 0:
        fail(f"--games must be > 0, got {args.games}")
    if args.play_max_pieces <= 0:
        fail(f"--max-pieces must be > 0, got {args.play_max_pieces}")
    run_dir: Path = args.checkpoints
    try:
        model_dir = resolve_model(run_dir, args.model or _default_model(run_dir))
        check_device(args.play_device)  # before start-up: CUDA must exist
        config = Config(
            run_dir=run_dir,
            seed=args.play_seed,
            device=args.play_device,
            step_delay=args.play_step_delay,
            pace=args.play_pace,
        )
    except (CheckpointError, ConfigError) as exc:
        fail(str(exc))
    headless = args.play_headless or args.headless
    rules = rules_from_args(args, "play_")
    if rules:  # asked for explicitly: checked here, before anything starts
        from tetris_tui.worker.model_loading import env_config_of, with_rules

        try:
            with_rules(env_config_of(model_dir), rules)
        except ConfigError as exc:
            fail(str(exc))
    if headless:
        return play_headless(
            model_dir,
            args.games,
            args.play_seed,
            args.play_max_pieces,
            args.play_device,
            rules_from_args(args, "play_"),
        )
    from tetris_tui.ui.app import TetrisApp

    TetrisApp(config, play_model=model_dir, play_rules=rules or None).run()
    return 0


def _default_model(run_dir: Path) -> str:
    return BEST if (run_dir / BEST / "model.zip").is_file() else LATEST


def play_headless(
    model_dir: Path,
    games: int,
    seed: int | None,
    max_pieces: int,
    device: str,
    rules: dict[str, object] | None = None,
) -> int:
    """Play ``games`` greedy games at full speed; one line per game and a summary.

    ``rules`` (EnvConfig fields) plays the model on other rules than its own.
    """
    import time

    from tetris_tui.rules.base import describe
    from tetris_tui.worker.evaluate import play_games
    from tetris_tui.worker.model_loading import load_for_play, with_rules

    try:
        model, env_config = load_for_play(model_dir, device)
        env_config = with_rules(env_config, rules)
    except (CheckpointError, ConfigError) as exc:
        fail(str(exc))
    label = describe(env_config.rules, env_config.height, env_config.randomizer)
    print(f"playing {model_dir} ({env_config.kind} env, {label} rules), {games} games", flush=True)
    started = time.perf_counter()
    results = play_games(
        model, games, env_config, seed=None if seed is None else seed + 1, max_pieces=max_pieces
    )
    seconds = time.perf_counter() - started
    for index, game in enumerate(results, 1):
        capped = "  (capped)" if game.capped else ""
        print(
            f"game {index}: lines {game.lines}  pieces {game.pieces}  "
            f"reward {game.reward:.1f}{capped}"
        )
    lines = [g.lines for g in results]
    print(
        f"summary: games={len(lines)} mean={statistics.fmean(lines):.2f} "
        f"median={statistics.median(lines):g} max={max(lines)} "
        f"placements/s={sum(g.pieces for g in results) / max(seconds, 1e-9):,.0f}"
    )
    sys.stdout.flush()
    return 0
