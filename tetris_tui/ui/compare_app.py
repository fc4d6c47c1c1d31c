"""The app of ``tetris-tui compare``: the compare screen on its own, no trainer."""

from __future__ import annotations

from textual.app import App
from textual.screen import Screen

from tetris_tui.compare.runs import Run
from tetris_tui.ui.screens.compare import CompareScreen


class CompareApp(App[None]):
    """Opens on the given runs, read already (the command line checked them)."""

    TITLE = "tetris-tui compare"

    def __init__(self, runs: list[Run], grouped: bool = False) -> None:
        super().__init__()
        self.compare = CompareScreen([], runs=runs, grouped=grouped)

    def get_default_screen(self) -> Screen:
        return self.compare
