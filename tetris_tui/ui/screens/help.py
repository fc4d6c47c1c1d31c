"""The ``?`` screen: every key, including those the footer has no room for."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS: tuple[tuple[str, str], ...] = (
    ("s", "start (resumes from latest/ in the run dir)"),
    ("x", "stop; the worker saves latest/ first"),
    ("p", "pause / resume"),
    ("w", "board: spectator game -> training env 0 -> off"),
    ("+ -", "spectator's pace: 1-60 placements/s, instant"),
    ("r", "replay the best game (again: the live board)"),
    ("m", "models: keep, rename, delete, play saved models"),
    ("k", "keep the current model in slots/step-N"),
    ("f", "follow the newest game in the log"),
    ("t l", "curve: x steps / wall time; y linear / log"),
    ("a", "curve smoothing: EMA of 10/100/1000 games, off"),
    ("e", "show the last worker error again"),
    ("tab ↑ ↓", "focus and scroll the episode log"),
    ("ctrl+p", "command palette: commands, themes"),
    ("d", "detach: quit, training goes on (tetris-tui attach)"),
    ("?", "this help"),
    ("q", "quit; while training: x stop (save) or d leave running"),
)


def keys_table() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(justify="right", style="bold", no_wrap=True)
    table.add_column()
    for key, what in KEYS:
        table.add_row(key, what)
    return table


class HelpScreen(ModalScreen[None]):
    """Key reference; any of escape, ? or q closes it."""

    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss", "close", priority=True),
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 80%; max-width: 90; height: auto; max-height: 90%;
        border: round $primary; border-title-align: center;
        background: $surface; padding: 0 2;
    }
    HelpScreen .help-about { color: $text-muted; margin-top: 1; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "keys"
            scroll.border_subtitle = "esc to close"
            yield Static(keys_table())
            yield Static(
                Text(
                    "PPO learns in a separate trainer process; this window draws what it "
                    "reports. The trainer outlives the window: `tetris-tui ls` lists it, "
                    "`tetris-tui attach` comes back to it."
                ),
                classes="help-about",
            )
