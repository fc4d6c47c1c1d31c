"""``tetris-tui compare RUN...``: several runs' learning curves on one chart."""

from __future__ import annotations

import argparse
from pathlib import Path

from tetris_tui.cli_options import fail

NAME = "compare"
HELP = "overlay the learning curves of several runs (group seeds with --group)"
DESCRIPTION = (
    "Draw the learning curves of the given runs on one chart, each in its own colour. "
    "Keys: t steps / wall time, l log y, g group runs that differ only by seed (mean and "
    "a band for the spread), a add runs found under this directory, q quit."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="run directories")
    parser.add_argument(
        "--group", action="store_true", help="start with seeds of one setting grouped"
    )


def run(args: argparse.Namespace) -> int:
    from tetris_tui.compare.runs import CompareError, load_runs

    try:
        runs = load_runs(args.runs)
    except CompareError as exc:
        fail(str(exc))
    from tetris_tui.ui.compare_app import CompareApp

    CompareApp(runs, grouped=args.group).run()
    return 0
