"""``tetris-tui models``: the saved models of a run, as a table."""

from __future__ import annotations

import argparse

from tetris_tui.cli_options import add_run_dir_option, fail
from tetris_tui.model_table import SORT_KEYS, format_table
from tetris_tui.runs.checkpoints import list_checkpoints

NAME = "models"
HELP = "list the saved models of a run"
DESCRIPTION = "List saved models: latest, best, final and every slot."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_dir_option(parser, shared=True)
    parser.add_argument("--sort", choices=sorted(SORT_KEYS), default=None)


def run(args: argparse.Namespace) -> int:
    if not args.checkpoints.is_dir():
        fail(f"no run directory {args.checkpoints}")
    rows = list_checkpoints(args.checkpoints)
    if args.sort:
        rows.sort(key=SORT_KEYS[args.sort])
    print(format_table(rows) if rows else f"no models in {args.checkpoints}")
    return 0
