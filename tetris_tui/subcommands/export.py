"""``tetris-tui export RUN --csv FILE --svg FILE``: a run's games as CSV, its curve as SVG."""

from __future__ import annotations

import argparse
from pathlib import Path

from tetris_tui.cli_options import fail

NAME = "export"
HELP = "write a run's games and evaluations as CSV, or its learning curve as SVG"
DESCRIPTION = (
    "Export a run: --csv FILE writes every game and evaluation of events.jsonl, one row "
    "each; --svg FILE writes the learning curve as an image (--time: x in wall time)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", type=Path, metavar="RUN", help="the run directory")
    parser.add_argument("--csv", type=Path, metavar="FILE", help="every game and evaluation")
    parser.add_argument("--svg", type=Path, metavar="FILE", help="the learning curve")
    parser.add_argument("--time", action="store_true", help="SVG: x in wall time, not steps")


def run(args: argparse.Namespace) -> int:
    from tetris_tui.compare.runs import CompareError, load_runs

    if args.csv is None and args.svg is None:
        fail("export needs --csv FILE, --svg FILE or both")
    try:
        runs = load_runs([args.run])
    except CompareError as exc:
        fail(str(exc))
    from tetris_tui.compare.export import write_csv, write_svg
    from tetris_tui.ui.widgets.chart import STEPS, TIME

    for out in (args.csv, args.svg):
        if out is not None and out.is_dir():
            fail(f"{out} is a directory; name a file")
    try:
        if args.csv is not None:
            games, evaluations = write_csv(args.run, args.csv)
            print(f"wrote {args.csv}: {games:,} games, {evaluations:,} evaluations")
        if args.svg is not None:
            write_svg(runs, args.svg, TIME if args.time else STEPS)
            print(f"wrote {args.svg}")
    except OSError as exc:
        fail(f"cannot write: {exc.strerror or exc} ({exc.filename or ''})")
    return 0
