"""Sub-commands of ``tetris-tui``: one module each.

Each module has ``NAME``, ``HELP`` (one line for ``--help``), ``DESCRIPTION``,
``add_arguments(parser)`` and ``run(args) -> exit code``. Adding a sub-command is
adding a module and listing it here; ``cli.py`` builds the parser from this list.
"""

from __future__ import annotations

from tetris_tui.subcommands import attach, compare, export, ls, models, play, replay, serve, tune

SUBCOMMANDS = (attach, ls, models, play, replay, serve, tune, compare, export)
