"""``tetris-tui attach``: watch (and command) a trainer that runs on without a terminal."""

from __future__ import annotations

import argparse

from tetris_tui.cli_options import add_run_dir_option, fail

NAME = "attach"
HELP = "watch a live trainer (started earlier, or with --headless --detach)"
DESCRIPTION = (
    "Attach to the trainer running in a run directory: its whole history, then the live "
    "board, metrics and games. The keys work as in the app that started it."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_dir_option(parser, shared=True)
    add_read_only_option(parser)


def add_read_only_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--read-only",
        action="store_true",
        default=argparse.SUPPRESS,
        help="see everything, command nothing",
    )


def run(args: argparse.Namespace) -> int:
    return attach_app(args.checkpoints, getattr(args, "read_only", False))


def attach_app(run_dir, read_only: bool) -> int:
    """Connect first (one line and exit 2 when that fails), then open the app."""
    from tetris_tui.config import Config
    from tetris_tui.session.attached import AttachedSession, AttachError

    session = AttachedSession(run_dir, read_only=read_only)
    try:
        session.attach()
    except AttachError as exc:
        fail(str(exc))
    from tetris_tui.ui.app import TetrisApp
    from tetris_tui.worker.process_setup import start_quiet_resource_tracker

    start_quiet_resource_tracker()  # `s` may start a trainer from this app later
    config = Config(run_dir=run_dir)
    if session.card is not None and session.card.config:
        # The trainer's own config (the run info panel shows it; `s` restarts with it).
        config = Config.from_dict({**session.card.config, "run_dir": run_dir})
    TetrisApp(config, session_factory=lambda: session).run()
    return 0
