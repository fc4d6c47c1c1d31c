"""The command line: one parser, sub-commands, and the dispatch to each.

``tetris-tui [options]`` trains (in the app, or ``--headless``); a sub-command
(``tetris-tui models``, ``tetris-tui play MODEL``, ...) does one other job.
``--checkpoints`` may come before or after the sub-command's name. Every
mistake ends in one line on stderr and exit code 2, before any process starts.
"""

from __future__ import annotations

import argparse
import sys

from tetris_tui.cli_options import (
    OneLineParser,
    add_training_options,
    config_from_args,
    fail,
)
from tetris_tui.config import ConfigError
from tetris_tui.runs.trainers import live_trainer
from tetris_tui.subcommands import SUBCOMMANDS
from tetris_tui.subcommands.attach import add_read_only_option, attach_app


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="tetris-tui",
        description="Train a PPO agent to play Tetris and watch it learn.",
    )
    parser.add_argument(
        "--headless", action="store_true", help="train without the UI, printing progress lines"
    )
    parser.add_argument(
        "--detach",
        action="store_true",
        help="with --headless: start the trainer in the background, print its pid, return",
    )
    parser.add_argument("--autostart", action="store_true", help="start training at once")
    add_read_only_option(parser)
    add_training_options(parser)
    subparsers = parser.add_subparsers(
        dest="subcommand", metavar="COMMAND", title="sub-commands (run without one to train)"
    )
    for command in SUBCOMMANDS:
        sub = subparsers.add_parser(
            command.NAME, help=command.HELP, description=command.DESCRIPTION
        )
        command.add_arguments(sub)
        sub.set_defaults(run_subcommand=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.subcommand is not None:
        return args.run_subcommand(args)
    if args.detach and not args.headless:
        fail("--detach goes with --headless (the app detaches with the d key)")
    trainer = live_trainer(args.checkpoints)
    if trainer is not None:
        if args.headless:
            fail(
                f"a trainer is already running in {args.checkpoints} (pid {trainer.pid}): "
                f"watch it with `tetris-tui attach --checkpoints {args.checkpoints}`"
            )
        return attach_app(args.checkpoints, getattr(args, "read_only", False))
    try:
        config = config_from_args(args)
        from tetris_tui.preflight import preflight

        preflight(config)
    except ConfigError as exc:
        fail(str(exc))
    from tetris_tui.worker.process_setup import start_quiet_resource_tracker

    start_quiet_resource_tracker()  # before the app owns the terminal
    if args.headless:
        from tetris_tui.headless import run_detached, run_headless

        return run_detached(config) if args.detach else run_headless(config)
    from tetris_tui.ui.app import TetrisApp

    TetrisApp(config, autostart=args.autostart).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
