"""``tetris-tui replay [best|PATH]``: watch a recorded best game again, placement by placement."""

from __future__ import annotations

import argparse

from tetris_tui.cli_options import add_run_dir_option, fail, finite_float
from tetris_tui.protocol import DEFAULT_PACE

NAME = "replay"
HELP = "replay the run's best game (replays/best.json) or a replay file"
DESCRIPTION = (
    "Replay a recorded game on the board at a chosen pace (no torch, no env: the "
    "file holds every placement). A missing or damaged file is one line and exit 2."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "replay", nargs="?", default="best", help="best (the run's best game) or a path"
    )
    add_run_dir_option(parser, shared=True)
    parser.add_argument(
        "--pace",
        dest="replay_pace",
        type=finite_float,
        default=DEFAULT_PACE,
        metavar="N",
        help=f"placements per second, 0 = instant (default {DEFAULT_PACE:g})",
    )


def run(args: argparse.Namespace) -> int:
    from tetris_tui.replay import ReplayError, load_replay, replay_path

    if args.replay_pace < 0:
        fail(f"--pace must be >= 0, got {args.replay_pace}")
    path = replay_path(args.replay, args.checkpoints)
    try:
        game = load_replay(path)
    except ReplayError as exc:
        fail(str(exc))
    from tetris_tui.ui.replay_app import ReplayApp

    ReplayApp(game, path, args.replay_pace).run()
    return 0
