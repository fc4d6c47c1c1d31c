"""The command line: one parser, sub-commands, and the dispatch to each.

``tetris-tui [options]`` trains (in the app, or ``--headless``); a sub-command
(``tetris-tui models``, ``tetris-tui play MODEL``, ...) does one other job.
``--checkpoints`` may come before or after the sub-command's name; a training
option before it is refused (the sub-command would ignore it). ``--read-only``
watches a live trainer and is refused when none runs: it never trains. Every
mistake ends in one line on stderr and exit code 2, before any process starts.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

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

# Top-level options that sub-commands use too, when given before their name.
SHARED_OPTIONS = {"checkpoints", "read_only", "headless", "help"}


class _Quiet(argparse.ArgumentParser):
    """For a second look at the command line: errors raise, nothing is printed."""

    def error(self, message: str) -> NoReturn:
        raise ValueError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _top_parser(OneLineParser)
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


def _top_parser(kind: type[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """The options of ``tetris-tui`` itself (training, and the shared ones)."""
    parser = kind(
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
    return parser


def misplaced_options(argv: list[str], subcommand: str) -> list[str]:
    """Options of ``tetris-tui`` itself given before ``subcommand``, which ignores them."""
    parser = _top_parser(_Quiet)
    for action in parser._actions:
        action.default = argparse.SUPPRESS  # what is left in the namespace was given
    names = {action.dest: action.option_strings[-1] for action in parser._actions}
    for index, token in enumerate(argv):
        if token != subcommand:
            continue
        try:
            given, extra = parser.parse_known_args(argv[:index])
        except ValueError:
            continue
        if not extra:  # this token is the sub-command's name, not an option's value
            return [names[dest] for dest in vars(given) if dest not in SHARED_OPTIONS]
    return []


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    if args.subcommand is not None:
        misplaced = misplaced_options(argv, args.subcommand)
        if misplaced:
            fail(
                f"{', '.join(misplaced)} before `{args.subcommand}`: the sub-command does "
                "not use it (training options go with `tetris-tui` alone)"
            )
        return args.run_subcommand(args)
    if args.detach and not args.headless:
        fail("--detach goes with --headless (the app detaches with the d key)")
    trainer = live_trainer(args.checkpoints)
    if trainer is None and getattr(args, "read_only", False):
        fail(
            f"--read-only watches a live trainer, and none runs in {args.checkpoints} "
            "(start one with `tetris-tui` or `tetris-tui --headless --detach`)"
        )
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
