"""The study screen: every trial (number, state, parameters, value, steps, machine),
the best so far, and the value of each trial on a plot.

A thread polls the study (``Runner.poll``: the storage, the workers, ``best``)
once a second and hands the UI a plain ``Snapshot``, so a slow database never
stalls a key. Enter on a running trial attaches to its trainer with the
existing ``tetris-tui attach`` (the screen steps aside while it runs); on a
finished one it opens the run's models screen. Like the rest of the UI, it
never imports torch: trials train in their own processes.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from tetris_tui.tune.runner import Snapshot, TrialRow
from tetris_tui.ui.widgets.braille import Canvas, scale

CLI = [sys.executable, "-m", "tetris_tui"]
COLUMNS = ("trial", "state", "value", "steps", "machine", "parameters")
STATE_STYLES = {"RUNNING": "bold cyan", "COMPLETE": "green", "PRUNED": "yellow", "FAIL": "red"}
PLOT_HEIGHT = 6


def plot_rows(rows: list[TrialRow], width: int, height: int = PLOT_HEIGHT) -> Text:
    """Each complete trial's value as a dot, by trial number, and the best so far as a line."""
    done = sorted((r.number, r.value) for r in rows if r.value is not None)
    text = Text()
    if not done or width < 12:
        return text.append("value by trial: no complete trial yet", style="dim")
    top = max(v for _, v in done) or 1.0
    label = f"{top:>7.1f} "
    canvas = Canvas(width - len(label), height, layers=2)
    last = max(r.number for r in rows) or 1
    xs = scale([n for n, _ in done], 0, last, canvas.dots_x)
    ys = scale([v for _, v in done], 0, top, canvas.dots_y)
    canvas.points(0, xs, ys)
    best, running = [], float("-inf")
    for _, value in done:
        running = max(running, value)
        best.append(running)
    canvas.line(1, xs, scale(best, 0, top, canvas.dots_y))
    for index, runs in enumerate(canvas.rows()):
        text.append(label if index == 0 else " " * len(label), style="dim")
        for chunk, layer in runs:
            text.append(chunk, style="green" if layer == 1 else "white" if layer == 0 else None)
        text.append("\n")
    text.append(f"{'0':>7} trial 0 … {last}   · a trial's value   ─ best so far", style="dim")
    return text


def _params(row: TrialRow) -> str:
    return " ".join(
        f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.params.items()
    )


class StudyApp(App[None]):
    """The study, live. ``poll`` returns a Snapshot (it runs in a thread)."""

    TITLE = "tetris-tui tune"
    CSS = """
    #best { height: auto; padding: 0 1; background: $boost; }
    #trials { height: 1fr; }
    #plot { height: auto; padding: 0 1; }
    """
    BINDINGS = [
        Binding("enter", "open", "attach / models", priority=True),
        Binding("q", "quit_study", "stop workers & quit"),
        Binding("ctrl+c", "quit_study", "stop workers & quit", show=False, priority=True),
    ]

    def __init__(self, poll: Callable[[], Snapshot], where: str, poll_seconds: float = 1.0) -> None:
        super().__init__()
        self.poll = poll
        self.where = where
        self.poll_seconds = poll_seconds
        self.shot = Snapshot([], None)
        self.opened: list[list[str]] = []  # external commands run (attach, play)

    def compose(self) -> ComposeResult:
        yield Static(f"study {self.where}: waiting for the first trial…", id="best")
        yield DataTable(id="trials", cursor_type="row", zebra_stripes=True)
        yield Static(id="plot")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*COLUMNS)
        self.refresh_study()
        self.set_interval(self.poll_seconds, self.refresh_study)

    def refresh_study(self) -> None:
        self.run_worker(self._poll, thread=True, exclusive=True, group="poll")

    def _poll(self) -> None:
        shot = self.poll()
        self.call_from_thread(self.show, shot)

    def show(self, shot: Snapshot) -> None:
        """Redraw from a snapshot, keeping the cursor on the same trial."""
        self.shot = shot
        table = self.query_one(DataTable)
        selected = self.selected()
        with self.batch_update():
            table.clear()
            for row in shot.rows:
                table.add_row(
                    str(row.number),
                    Text(row.state.lower(), style=STATE_STYLES.get(row.state, "")),
                    f"{row.value:.2f}" if row.value is not None else "-",
                    f"{row.timesteps:,}",
                    row.host or "-",
                    _params(row),
                    key=str(row.number),
                )
            if selected is not None:
                numbers = [r.number for r in shot.rows]
                if selected.number in numbers:
                    table.move_cursor(row=numbers.index(selected.number))
            self.query_one("#best", Static).update(self._best_line(shot))
            width = max(20, self.size.width - 2)
            self.query_one("#plot", Static).update(plot_rows(shot.rows, width))

    def _best_line(self, shot: Snapshot) -> str:
        counts = {s: sum(r.state == s for r in shot.rows) for s in STATE_STYLES}
        text = (
            f"study {self.where}: {counts['RUNNING']} running, {counts['COMPLETE']} complete, "
            f"{counts['PRUNED']} pruned, {counts['FAIL']} failed"
        )
        if shot.best is not None:
            text += f"   best: trial {shot.best.number}, {shot.best.value:.2f} lines/game"
        return text

    def selected(self) -> TrialRow | None:
        table = self.query_one(DataTable)
        rows = self.shot.rows
        if not rows or not 0 <= table.cursor_row < len(rows):
            return None
        return rows[table.cursor_row]

    def action_open(self) -> None:
        row = self.selected()
        if row is None:
            return
        if row.run_dir is None:
            self.notify(f"trial {row.number} ran on {row.host or 'another machine'}: open it there")
        elif row.state == "RUNNING":
            self.open_external([*CLI, "attach", "--checkpoints", str(row.run_dir)])
        else:
            from tetris_tui.ui.screens.models import ModelsScreen

            self.push_screen(ModelsScreen(row.run_dir, training=False), self._models_closed)

    def _models_closed(self, request: object) -> None:
        path = getattr(request, "path", None)
        if getattr(request, "action", None) == "play" and path is not None:
            self.open_external([*CLI, "play", str(path)])

    def open_external(self, command: list[str]) -> None:
        """Step aside for another tetris-tui (attach, play); back when it ends."""
        self.opened.append(command)
        if self.is_headless:
            return  # under Pilot there is no terminal to hand over
        with self.suspend():
            subprocess.run(command, check=False)

    def action_quit_study(self) -> None:
        self.exit()


def run_screen(runner: object) -> int:
    """The screen in front of a Runner; quitting stops this machine's workers (they save)."""
    from tetris_tui.tune.runner import close_quietly

    runner.start()
    try:
        StudyApp(runner.poll, f"{runner.spec.study_name} in {runner.spec.dir}").run()
    finally:
        print("stopping this machine's workers (each saves its trial)…", flush=True)
        close_quietly(runner)
    shot = runner.poll()
    if shot.best is not None:
        print(f"best trial {shot.best.number}: {shot.best.value:.2f} lines/game", flush=True)
    return 1 if runner.crashed else 0
