"""The compare screen: several runs' learning curves on one chart, with a legend.

``tetris-tui compare RUN...`` opens it alone; ``c`` in the app opens it on the
app's run, and ``a`` here adds runs found as ``tetris-tui ls`` finds them.
``g`` groups runs that differ only by seed into their mean with a band for the
spread; ``t`` switches x between steps and wall time. Runs are read in a
thread (a long run's history takes a moment), like the main curve's.
"""

from __future__ import annotations

from pathlib import Path

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Footer, SelectionList, Static

from tetris_tui.compare.overlay import Series, colour, draw_overlay, group_series, legend
from tetris_tui.compare.runs import CompareError, Run, group_runs, load_run, name_runs
from tetris_tui.runs.listing import find_runs
from tetris_tui.ui.widgets.chart import STEPS, TIME


def chart_styles(count: int, base: Style, muted: str = "grey50") -> dict[str | None, Style]:
    """Style names of draw_overlay's runs -> Rich styles: a colour per curve, a dim band."""
    styles: dict[str | None, Style] = {None: base, "axis": base + Style(color=muted)}
    for index in range(count):
        styles[f"line{index}"] = base + Style(color=colour(index), bold=True)
        styles[f"band{index}"] = base + Style(color=colour(index), dim=True)
    return styles


class CompareChart(Widget):
    """The overlaid curves, drawn when the series, the view or the size change."""

    DEFAULT_CSS = "CompareChart { height: 1fr; border: round $primary; }"

    def __init__(self) -> None:
        super().__init__()
        self.series: list[Series] = []
        self.axis = STEPS
        self.log_y = False
        self._strips: list[Strip] = []
        self._drawn: tuple[object, ...] = ()

    def show(self, series: list[Series], axis: str, log_y: bool) -> None:
        self.series, self.axis, self.log_y = series, axis, log_y
        self._strips = []
        self.border_title = "lines/game, EMA of 100 games"
        self.border_subtitle = f"t {self.axis} · l {'log' if log_y else 'lin'} · g group seeds"
        self.refresh()

    def render_line(self, y: int) -> Strip:
        key = (self.size, self.rich_style, id(self.series))
        if key != self._drawn or not self._strips:
            width, height = self.size
            rows = draw_overlay(self.series, self.axis, width, height, self.log_y)
            styles = chart_styles(len(self.series), self.rich_style)
            self._strips = [
                Strip([Segment(text, styles[name]) for text, name in row]).adjust_cell_length(
                    width, self.rich_style
                )
                for row in rows
            ]
            self._drawn = key
        if 0 <= y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.size.width, self.rich_style)


class CompareScreen(Screen[None]):
    """Runs side by side; keys regroup, switch the x axis, and add runs."""

    BINDINGS = [
        Binding("t", "axis", "steps / wall time", id="compare_axis"),
        Binding("l", "log", "log y", id="compare_log"),
        Binding("g", "group", "group seeds", id="compare_group"),
        Binding("a", "add", "add runs", id="compare_add"),
        Binding("escape,q", "close", "close", id="compare_close"),
    ]
    DEFAULT_CSS = """
    CompareScreen #compare-legend { height: auto; max-height: 10; padding: 0 1; }
    """

    def __init__(
        self, paths: list[Path], runs: list[Run] | None = None, grouped: bool = False
    ) -> None:
        super().__init__()
        self.runs: list[Run] = list(runs or [])
        self.grouped = grouped
        self.axis = STEPS
        self.log_y = False
        self.series: list[Series] = []
        self.chart = CompareChart()
        self.legend = Static(id="compare-legend")
        self._pending = [p for p in paths if p.resolve() not in self._shown_paths()]

    def compose(self) -> ComposeResult:
        yield self.chart
        yield self.legend
        yield Footer()

    def on_mount(self) -> None:
        self.redraw()
        if self._pending:
            self.add_paths(self._pending)

    def _shown_paths(self) -> set[Path]:
        return {run.path.resolve() for run in self.runs}

    @work(thread=True, exclusive=True, group="compare", exit_on_error=False)
    def add_paths(self, paths: list[Path]) -> None:
        """Read the runs in a thread; one that cannot be read is named in a toast."""
        loaded, problems = [], []
        for path in paths:
            try:
                loaded.append(load_run(path))
            except CompareError as exc:
                problems.append(str(exc))
        self.app.call_from_thread(self._added, loaded, problems)

    def _added(self, loaded: list[Run], problems: list[str]) -> None:
        shown = self._shown_paths()
        self.runs.extend(run for run in loaded if run.path.resolve() not in shown)
        for problem in problems:
            self.notify(problem, severity="warning")
        self.redraw()

    def redraw(self) -> None:
        name_runs(self.runs)
        groups = group_runs(self.runs, self.grouped)
        self.series = [group_series(group, self.axis) for group in groups]
        self.chart.show(self.series, self.axis, self.log_y)
        text = Text()
        for index, (entry, _) in enumerate(legend(self.series)):
            text.append(entry + "\n", style=Style(color=colour(index), bold=True))
        if not self.series:
            text.append("no runs yet: a adds runs found under this directory")
        self.legend.update(text)

    def action_axis(self) -> None:
        self.axis = TIME if self.axis == STEPS else STEPS
        self.redraw()

    def action_log(self) -> None:
        self.log_y = not self.log_y
        self.redraw()

    def action_group(self) -> None:
        self.grouped = not self.grouped
        self.redraw()

    def action_add(self) -> None:
        roots = {Path(".")} | {run.path.resolve().parent for run in self.runs}
        found = [p for p in find_runs(sorted(roots)) if p.resolve() not in self._shown_paths()]
        if not found:
            self.notify("no other runs found under this directory", timeout=3)
            return
        self.app.push_screen(AddRunsScreen(found), self._picked)

    def _picked(self, paths: list[Path] | None) -> None:
        if paths:
            self.add_paths(paths)

    def action_close(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.dismiss()
        else:
            self.app.exit()


class AddRunsScreen(ModalScreen[list[Path]]):
    """Pick runs to add: space marks, enter adds, escape cancels."""

    BINDINGS = [
        Binding("enter", "add", "add", priority=True),
        Binding("escape", "cancel", "cancel"),
    ]
    DEFAULT_CSS = """
    AddRunsScreen { align: center middle; }
    AddRunsScreen > SelectionList { width: 80%; height: auto; max-height: 80%;
        border: round $primary; }
    """

    def __init__(self, runs: list[Path]) -> None:
        super().__init__()
        self.runs = runs

    def compose(self) -> ComposeResult:
        choices = SelectionList[int](*((str(path), i) for i, path in enumerate(self.runs)))
        choices.border_title = "add runs: space marks, enter adds"
        yield choices

    def action_add(self) -> None:
        selected = self.query_one(SelectionList).selected
        self.dismiss([self.runs[i] for i in selected])

    def action_cancel(self) -> None:
        self.dismiss([])
