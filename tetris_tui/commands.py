"""Sub-commands: ``tetris-tui models`` and ``tetris-tui play``."""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

from tetris_tui.cli import _OneLineParser, add_run_dir_option, fail, finite_float
from tetris_tui.config import Config, ConfigError
from tetris_tui.model_table import SORT_KEYS, format_table
from tetris_tui.training.checkpoints import (
    BEST,
    LATEST,
    CheckpointError,
    list_checkpoints,
    resolve_model,
)


def run(name: str, argv: list[str]) -> int:
    return {"models": models_command, "play": play_command}[name](argv)


# -- models ----------------------------------------------------------------------


def models_command(argv: list[str]) -> int:
    parser = _OneLineParser(prog="tetris-tui models", description="List saved models.")
    add_run_dir_option(parser)
    parser.add_argument("--sort", choices=sorted(SORT_KEYS), default=None)
    args = parser.parse_args(argv)
    if not args.checkpoints.is_dir():
        fail(f"no run directory {args.checkpoints}")
    rows = list_checkpoints(args.checkpoints)
    if args.sort:
        rows.sort(key=SORT_KEYS[args.sort])
    print(format_table(rows) if rows else f"no models in {args.checkpoints}")
    return 0


# -- play --------------------------------------------------------------------------


def play_command(argv: list[str]) -> int:
    parser = _OneLineParser(
        prog="tetris-tui play",
        description="Watch a saved agent play (greedy; nothing is trained).",
    )
    parser.add_argument(
        "model", nargs="?", default=None, help="latest, best, final, a slot name or a path"
    )
    add_run_dir_option(parser)
    parser.add_argument("--headless", action="store_true", help="play at full speed, print games")
    parser.add_argument("--games", type=int, default=10, help="games to play with --headless")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--max-pieces", type=int, default=10_000, help="cap per game")
    parser.add_argument(
        "--step-delay", type=finite_float, default=0.15, help="seconds between moves"
    )
    args = parser.parse_args(argv)
    if args.games <= 0:
        fail(f"--games must be > 0, got {args.games}")
    if args.max_pieces <= 0:
        fail(f"--max-pieces must be > 0, got {args.max_pieces}")
    try:
        model_dir = resolve_model(args.checkpoints, args.model or _default_model(args.checkpoints))
        config = Config(
            run_dir=args.checkpoints, seed=args.seed, device=args.device, step_delay=args.step_delay
        )
    except (CheckpointError, ConfigError) as exc:
        fail(str(exc))
    if args.headless:
        return play_headless(model_dir, args.games, args.seed, args.max_pieces, args.device)
    from tetris_tui.ui.app import TetrisApp

    TetrisApp(config, play_model=model_dir).run()
    return 0


def _default_model(run_dir: Path) -> str:
    return BEST if (run_dir / BEST / "model.zip").is_file() else LATEST


def play_headless(
    model_dir: Path, games: int, seed: int | None, max_pieces: int, device: str
) -> int:
    """Play ``games`` greedy games at full speed; one line per game and a summary."""
    from tetris_tui.training.evaluate import play_games
    from tetris_tui.training.model_loading import load_for_play

    try:
        model, env_config = load_for_play(model_dir, device)
    except CheckpointError as exc:
        fail(str(exc))
    print(f"playing {model_dir} ({env_config.kind} env), {games} games", flush=True)
    results = play_games(
        model, games, env_config, seed=None if seed is None else seed + 1, max_pieces=max_pieces
    )
    for index, game in enumerate(results, 1):
        capped = "  (capped)" if game.capped else ""
        print(
            f"game {index}: lines {game.lines}  pieces {game.pieces}  "
            f"reward {game.reward:.1f}{capped}"
        )
    lines = [g.lines for g in results]
    print(
        f"summary: games={len(lines)} mean={statistics.fmean(lines):.2f} "
        f"median={statistics.median(lines):g} max={max(lines)}"
    )
    sys.stdout.flush()
    return 0
