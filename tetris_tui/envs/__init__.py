"""Gymnasium envs for Tetris, built on tetris-gymnasium's engine.

Imported only by the worker and user scripts, never by the UI process: it pulls
in tetris-gymnasium (and with it opencv).
"""

from tetris_tui.envs.factory import make_env

__all__ = ["make_env"]
