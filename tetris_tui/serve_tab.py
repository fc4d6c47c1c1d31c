"""One browser tab's app, for ``tetris-tui serve``.

It lives outside ``subcommands/`` because it calls the top-level parser
(``cli.main``), which sub-commands never import (``cli`` imports them).
"""

from __future__ import annotations

from pathlib import Path


def tab_main(argv: list[str]) -> int:
    """One tab's app, decided when the tab opens: a viewer of the live trainer
    (read-only unless the server was started with ``--control``), or the whole
    app on the run when no trainer runs (``s`` starts one, which outlives the tab)."""
    from tetris_tui.cli import main
    from tetris_tui.runs.trainers import live_trainer
    from tetris_tui.subcommands.attach import attach_app

    run_dir, control = Path(argv[0]), "--control" in argv[1:]
    if live_trainer(run_dir) is not None:
        return attach_app(run_dir, read_only=not control)
    return main(["--checkpoints", str(run_dir)])
