"""Asked on ``q`` while a trainer runs: stop it (with a save), or leave it running."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label

STOP = "stop"
LEAVE = "leave"


class QuitScreen(ModalScreen[str | None]):
    """``x`` stops training and quits, ``d`` leaves it running, escape goes back."""

    DEFAULT_CSS = """
    QuitScreen { align: center middle; }
    QuitScreen > #quit {
        width: auto; max-width: 80; height: auto; border: round $warning; padding: 1 2;
    }
    """
    BINDINGS = [
        Binding("x", "answer('stop')", "stop training and quit"),
        Binding("d", "answer('leave')", "leave it running"),
        Binding("escape,n", "answer(None)", "back"),
    ]

    def __init__(self, run_dir: str) -> None:
        super().__init__()
        self.run_dir = run_dir

    def compose(self) -> ComposeResult:
        with Vertical(id="quit"):
            yield Label("Training is running. Quit how?")
            yield Label("[b]x[/b] stop training (save latest), then quit")
            yield Label(
                "[b]d[/b] leave it running: come back with "
                f"[b]tetris-tui attach --checkpoints {self.run_dir}[/b]"
            )
            yield Label("[b]escape[/b] keep watching")

    def action_answer(self, answer: str | None) -> None:
        self.dismiss(answer)
