"""``python -m tetris_tui`` runs the same CLI as the ``tetris-tui`` script."""

from tetris_tui.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
