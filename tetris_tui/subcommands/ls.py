"""``tetris-tui ls [DIR ...]``: every run and every live trainer, so none runs unseen."""

from __future__ import annotations

import argparse
from pathlib import Path

from tetris_tui.cli_options import fail
from tetris_tui.runs.listing import format_runs, list_runs

NAME = "ls"
HELP = "list runs and live trainers (state, pid, steps, speed, best)"
DESCRIPTION = (
    "List every run under the given directories (default: the current one), and every "
    "live trainer of yours wherever it runs."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dirs", nargs="*", type=Path, metavar="DIR", help="where to look")


def run(args: argparse.Namespace) -> int:
    roots = args.dirs or [Path(".")]
    for root in roots:
        if not root.is_dir():
            fail(f"no directory {root}")
    rows = list_runs(roots)
    print(format_runs(rows) if rows else f"no runs under {', '.join(map(str, roots))}")
    return 0
