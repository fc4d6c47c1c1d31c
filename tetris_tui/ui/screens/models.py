"""The models screen: every saved model, sortable; keep, rename, delete, play.

File operations go through ``training.checkpoints`` (atomic, validated names,
never overwriting without asking). Saving the *current* model while training
needs the worker, so the screen hands that back to the app as a request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Input, Label, Static

from tetris_tui.model_table import SORT_KEYS, TABLE_HEADERS, table_cells
from tetris_tui.runs.checkpoints import (
    BEST,
    BUILTIN,
    LATEST,
    CheckpointError,
    CheckpointInfo,
    copy_checkpoint,
    delete_slot,
    list_checkpoints,
    rename_slot,
    validate_slot_name,
)

SORT_ORDER = ("name", "timesteps", "best", "mean", "saved")


@dataclass(frozen=True)
class ModelsRequest:
    """What the app must do when the screen closes (None: nothing)."""

    action: str  # "play" or "save_current"
    path: Path | None = None
    name: str = ""
    overwrite: bool = False  # the user agreed to replace an existing slot


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question; only ``y`` says yes."""

    BINDINGS = [
        Binding("y", "answer(True)", "yes"),
        Binding("n,escape", "answer(False)", "no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Label(self.question)
            yield Label("[b]y[/b] yes   [b]n[/b] no")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class ModelsScreen(ModalScreen[ModelsRequest | None]):
    """Lists latest, best, final and the slots of a run directory."""

    DEFAULT_CSS = """
    ModelsScreen { align: center middle; }
    ModelsScreen > Vertical {
        width: 96%; max-width: 140; height: 90%; border: round $accent; padding: 0 1;
    }
    ModelsScreen DataTable { height: 1fr; }
    ModelsScreen #prompt-row { height: auto; display: none; }
    ModelsScreen #prompt-row.visible { display: block; }
    ModelsScreen #message { height: 1; color: $text-muted; }
    ConfirmScreen { align: center middle; }
    ConfirmScreen > #confirm {
        width: auto; max-width: 80; height: auto; border: round $warning; padding: 1 2;
    }
    """

    BINDINGS = [
        Binding("escape,m", "close", "close"),
        Binding("enter,p", "play", "play"),
        Binding("k", "keep('current')", "keep current"),
        Binding("b", "keep('best')", "keep best"),
        Binding("r", "rename", "rename"),
        Binding("d", "delete", "delete"),
        Binding("o", "sort", "sort"),
    ]

    def __init__(self, run_dir: Path, training: bool) -> None:
        super().__init__()
        self.run_dir = run_dir
        self.training = training
        self.sort_key = "name"
        self.rows: list[CheckpointInfo] = []
        self._pending: tuple[str, str] | None = None  # (what, extra) awaiting a name

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"[b]models[/b] in {self.run_dir}", id="title")
            yield DataTable(cursor_type="row", zebra_stripes=True, id="models")
            with Horizontal(id="prompt-row"):
                yield Input(placeholder="slot name", id="prompt")
            yield Static("", id="message")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*TABLE_HEADERS)
        self.refresh_rows()
        table.focus()

    def refresh_rows(self) -> None:
        rows = list_checkpoints(self.run_dir) if self.run_dir.is_dir() else []
        if self.sort_key != "name":
            rows.sort(key=SORT_KEYS[self.sort_key])
        self.rows = rows
        table = self.query_one(DataTable)
        table.clear()
        for row in rows:
            table.add_row(*table_cells(row), key=row.name)
        if not rows:
            self.say("no models yet: press s on the main screen to train")

    def say(self, text: str) -> None:
        self.query_one("#message", Static).update(text)

    def selected(self) -> CheckpointInfo | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row < 0 or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    # -- actions ---------------------------------------------------------------------

    def action_close(self) -> None:
        if self._pending:
            self._hide_prompt()
            return
        self.dismiss(None)

    def action_sort(self) -> None:
        self.sort_key = SORT_ORDER[(SORT_ORDER.index(self.sort_key) + 1) % len(SORT_ORDER)]
        self.refresh_rows()
        self.say(f"sorted by {self.sort_key}")

    @on(DataTable.RowSelected)
    def _row_chosen(self) -> None:
        self.action_play()

    def action_play(self) -> None:
        row = self.selected()
        if row is None or not row.ok:
            self.say("nothing playable selected")
            return
        self.dismiss(ModelsRequest("play", path=row.path))

    def action_keep(self, what: str) -> None:
        if what == "best" and not (self.run_dir / BEST / "model.zip").is_file():
            self.say("there is no best model yet")
            return
        if what == "current" and not self.training and not (self.run_dir / LATEST).is_dir():
            self.say("nothing to keep yet: train first")
            return
        self._ask_name(("keep", what), f"keep the {what} model as slot:")

    def action_rename(self) -> None:
        row = self.selected()
        if row is None or row.name in BUILTIN:
            self.say("only slots can be renamed")
            return
        self._ask_name(("rename", row.name), f"rename {row.name} to:")

    def action_delete(self) -> None:
        row = self.selected()
        if row is None or row.name in BUILTIN:
            self.say("only slots can be deleted")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._try(lambda: delete_slot(self.run_dir, row.name), f"deleted {row.name}")

        self.app.push_screen(ConfirmScreen(f"delete slot {row.name!r}?"), answered)

    # -- naming ------------------------------------------------------------------------

    def _ask_name(self, pending: tuple[str, str], prompt: str) -> None:
        self._pending = pending
        self.query_one("#prompt-row").add_class("visible")
        field = self.query_one("#prompt", Input)
        field.value = ""
        field.placeholder = prompt
        field.focus()
        self.say(prompt + "  (enter to confirm, escape to cancel)")

    def _hide_prompt(self) -> None:
        self._pending = None
        self.query_one("#prompt-row").remove_class("visible")
        self.query_one(DataTable).focus()

    @on(Input.Submitted, "#prompt")
    def _named(self, event: Input.Submitted) -> None:
        pending, name = self._pending, event.value.strip()
        if pending is None:
            return
        try:
            validate_slot_name(name)
        except CheckpointError as exc:
            self.say(str(exc))
            return
        self._hide_prompt()
        what, extra = pending
        exists = (self.run_dir / "slots" / name).exists()
        if what == "rename":
            self._try(lambda: rename_slot(self.run_dir, extra, name), f"renamed to {name}")
        elif exists:
            question = f"slot {name!r} exists: overwrite it?"
            self.app.push_screen(
                ConfirmScreen(question), lambda yes: yes and self._keep(extra, name, True)
            )
        else:
            self._keep(extra, name, False)

    def _keep(self, what: str, name: str, overwrite: bool) -> None:
        if what == "current" and self.training:
            # The worker replaces the slot as one unit: the old one stays until then.
            self.dismiss(ModelsRequest("save_current", name=name, overwrite=overwrite))
            return
        source = self.run_dir / (BEST if what == "best" else LATEST)
        self._try(
            lambda: copy_checkpoint(source, self.run_dir, name, overwrite=overwrite),
            f"kept {what} as {name}",
        )

    def _try(self, operation: Callable[[], object], done: str) -> None:
        try:
            operation()
        except (CheckpointError, OSError) as exc:
            self.say(f"error: {exc}")
            return
        self.refresh_rows()
        self.say(done)
