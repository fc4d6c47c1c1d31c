"""The ``?`` screen: every key, including those the footer has no room for."""

from __future__ import annotations

from collections.abc import Mapping

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

# (keys, what they do, binding ids, one per key): a key remapped in the preferences'
# keymap is shown as the user set it; keys without an id are not remappable.
KEYS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("s", "start (resumes from latest/ in the run dir)", ("start",)),
    ("x", "stop; the worker saves latest/ first", ("stop",)),
    ("p", "pause / resume", ("pause",)),
    ("w", "board: spectator game -> training env 0 -> off", ("board",)),
    ("+ -", "spectator's pace: 1-60 placements/s, instant", ("faster", "slower")),
    ("r", "replay the best game (again: the live board)", ("replay",)),
    ("m", "models: keep, rename, delete, play saved models", ("models",)),
    ("c", "compare: overlay the curves of runs ls finds", ("compare",)),
    ("k", "keep the current model in slots/step-N", ("keep_slot",)),
    ("f", "follow the newest game in the log", ("follow",)),
    ("t l", "curve: x steps / wall time; y linear / log", ("curve_axis", "curve_log")),
    ("a", "curve smoothing: EMA of 10/100/1000 games, off", ("curve_smoothing",)),
    ("e", "show the last worker error again", ("error",)),
    ("tab ↑ ↓", "focus and scroll the episode log", ()),
    ("ctrl+p", "command palette: commands, themes", ()),
    ("d", "detach: quit, training goes on (tetris-tui attach)", ("detach",)),
    ("?", "this help", ("help",)),
    ("q", "quit; while training: x stop (save) or d leave running", ("quit",)),
)


def keys_table(keymap: Mapping[str, str] | None = None) -> Table:
    """Every key; those the keymap remaps by binding id show the user's keys."""
    keymap = keymap or {}
    table = Table.grid(padding=(0, 2))
    table.add_column(justify="right", style="bold", no_wrap=True)
    table.add_column()
    for keys, what, binding_ids in KEYS:
        shown = keys.split(" ")
        if len(shown) == len(binding_ids):
            shown = [
                keymap.get(i, k).replace(",", "/") for k, i in zip(shown, binding_ids, strict=True)
            ]
        table.add_row(" ".join(shown), what)
    return table


class HelpScreen(ModalScreen[None]):
    """Key reference; any of escape, ? or q closes it."""

    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss", "close", priority=True),
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; max-width: 90; height: auto; max-height: 90%;
        border: round $primary; border-title-align: center;
        background: $surface; padding: 0 2;
    }
    HelpScreen .help-about { color: $text-muted; margin-top: 1; }
    """

    def __init__(self, keymap: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.keymap = dict(keymap or {})

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "keys"
            scroll.border_subtitle = "esc to close"
            yield Static(keys_table(self.keymap))
            yield Static(
                Text(
                    "PPO learns in a separate trainer process; this window draws what it "
                    "reports. The trainer outlives the window: `tetris-tui ls` lists it, "
                    "`tetris-tui attach` comes back to it."
                ),
                classes="help-about",
            )
