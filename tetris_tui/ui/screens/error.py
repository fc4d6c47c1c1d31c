"""Shows a worker failure: the one-line message and the full, scrollable traceback."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class ErrorScreen(ModalScreen[str | None]):
    """Modal with the error; the app stays usable underneath (``s`` starts again)."""

    BINDINGS = [
        Binding("escape,q,enter", "dismiss", "close", priority=True),
        Binding("s", "dismiss('start')", "start again"),
    ]

    DEFAULT_CSS = """
    ErrorScreen { align: center middle; }
    ErrorScreen > #error-box {
        width: 90%; height: 80%;
        border: heavy $error; border-title-color: $error; border-title-style: bold;
        background: $surface; padding: 0 1;
    }
    ErrorScreen #error-message { color: $text-error; text-style: bold; margin-bottom: 1; }
    ErrorScreen #error-traceback { color: $text; }
    """

    def __init__(self, message: str, traceback: str = "") -> None:
        super().__init__()
        self.message = message
        self.traceback = traceback

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="error-box") as box:
            box.border_title = "training worker failed"
            box.border_subtitle = "↑↓ scroll · esc close · s start again"
            yield Static(Text(self.message or "unknown error"), id="error-message")
            yield Static(
                Text(self.traceback or "(no traceback)", no_wrap=True), id="error-traceback"
            )

    def on_mount(self) -> None:
        self.query_one("#error-box").focus()
