"""The whole-run learning curve: lines/game for every game, smoothed, with the evals,
and the games still running counted by their lines so far (``add_running``).

The panel owns the run's bounded history (``BucketHistory``), so memory stays
flat however long the run. Games arrive in batches from the screen; a
reopened run's history is read from events.jsonl in a thread and joins the
live games without counting any twice. The chart is drawn (chart.draw) only
when the data or the view changed, at most ``FLUSH_HZ`` times a second, and
kept as Strips for the repaints in between.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from pathlib import Path

from rich.segment import Segment
from rich.style import Style
from textual import work
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from tetris_tui.curves.buckets import BucketHistory
from tetris_tui.curves.reader import EVAL_CAPACITY, MEAN_WINDOW, RunCurve, read_curve
from tetris_tui.protocol import Episode, Evaluation, Metrics
from tetris_tui.ui.widgets.chart import STEPS, TIME, View, draw
from tetris_tui.ui.widgets.series import fmt_int, fmt_num

FLUSH_HZ = 2.0
SMOOTHING = (1, 10, 100, 1000)  # EMA windows in games; 1 = the raw points only
STYLE_NAMES = ("axis", "points", "line", "eval", "running")
# The title's legend: which line is which (the marks take the lines' colours).
FINISHED_MARK, RUNNING_MARK = "━", "┅"


class CurvePanel(Widget):
    """Lines per game over the whole run; keys switch the x axis, log y and smoothing."""

    COMPONENT_CLASSES = {f"curve--{name}" for name in STYLE_NAMES}
    DEFAULT_CSS = """
    CurvePanel > .curve--axis { color: $text-muted; }
    CurvePanel > .curve--points { color: $success 45%; }
    CurvePanel > .curve--line { color: $success; text-style: bold; }
    CurvePanel > .curve--eval { color: $warning; text-style: bold; }
    CurvePanel > .curve--running { color: $primary-lighten-2; text-style: bold; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.games = BucketHistory()
        self.evals = BucketHistory(EVAL_CAPACITY)
        # Mean lines so far of the games in progress, one sample per metrics tick.
        self.running = BucketHistory()
        self.running_now: float | None = None
        self.running_games = 0
        self.recent: deque[float] = deque(maxlen=MEAN_WINDOW)
        self.best: float | None = None
        self.view = View()
        self.loading = False
        self._early: list[Episode] = []  # live games that came while the history loaded
        self._early_evals: list[Evaluation] = []
        self._shown: tuple[object, ...] = ()  # data and view at the last flush
        self._drawn: tuple[object, ...] = ()  # ... and size and style of the Strips
        self._strips: list[Strip] = []
        self._flushed_at = 0.0
        self._title = ""
        self._titled_width = -1  # the width the title was last chosen for

    # -- data in -------------------------------------------------------------------
    def add_episodes(self, episodes: Iterable[Episode]) -> None:
        if self.loading:
            self._early.extend(episodes)
            return
        for game in episodes:
            self.games.add(game.lines, game.timesteps, game.time)
            self.recent.append(game.lines)
            self.best = game.lines if self.best is None else max(self.best, game.lines)

    def add_running(self, metrics: Metrics, when: float | None = None) -> None:
        """The games still being played, by their lines so far (from a metrics tick)."""
        if metrics.running_lines is None:
            return
        self.running_now = float(metrics.running_lines)
        self.running_games = metrics.running_games
        self.running.add(self.running_now, metrics.timesteps, when or time.time())

    @property
    def finished_mean(self) -> float | None:
        """Mean lines of the last 100 finished games (None before the first)."""
        return sum(self.recent) / len(self.recent) if self.recent else None

    def add_evaluation(self, evaluation: Evaluation) -> None:
        if self.loading:
            self._early_evals.append(evaluation)
        else:
            self.evals.add(evaluation.lines_mean, evaluation.timesteps, 0.0)

    def load_run(self, run_dir: Path) -> None:
        """Read the run's whole curve in a thread; live games meanwhile are kept."""
        self.loading = True
        self._read(run_dir)

    @work(thread=True, exclusive=True, group="curve", exit_on_error=False)
    def _read(self, run_dir: Path) -> None:
        try:
            curve: RunCurve | None = read_curve(run_dir)
        except Exception:  # noqa: BLE001 - history is a convenience; live games still show
            curve = None
        self.app.call_from_thread(self.set_curve, curve)

    def set_curve(self, curve: RunCurve | None) -> None:
        """Take a reopened run's history, then the games that came meanwhile."""
        self.loading = False
        if curve is not None:
            self.games, self.evals = curve.games, curve.evals
            self.recent = curve.recent
            highs = [bucket.high for bucket in curve.games]
            self.best = max(highs) if highs else None
        # Games that came while the file was read may be in it already: by time,
        # not number (a run resumed after a crash numbers from its checkpoint again).
        last = self.games.last
        read_until = last.time1 if last is not None else float("-inf")
        early, self._early = self._early, []
        self.add_episodes(game for game in early if game.time > read_until)
        evals, self._early_evals = self._early_evals, []
        seen = {bucket.steps1 for bucket in self.evals}
        for evaluation in evals:
            if evaluation.timesteps not in seen:
                self.add_evaluation(evaluation)
        self.flush(force=True)

    # -- keys ----------------------------------------------------------------------
    def toggle_axis(self) -> None:
        view = self.view
        self._set_view(View(TIME if view.axis == STEPS else STEPS, view.log_y, view.window))

    def toggle_log(self) -> None:
        view = self.view
        self._set_view(View(view.axis, not view.log_y, view.window))

    def cycle_smoothing(self) -> None:
        view = self.view
        index = SMOOTHING.index(view.window) if view.window in SMOOTHING else 0
        window = SMOOTHING[(index + 1) % len(SMOOTHING)]
        self._set_view(View(view.axis, view.log_y, window))

    def _set_view(self, view: View) -> None:
        self.view = view
        self.flush(force=True)

    # -- drawing -------------------------------------------------------------------
    def flush(self, force: bool = False) -> None:
        """Repaint if the data or the view changed, at most FLUSH_HZ times a second."""
        key = self._key()
        if not self.is_attached or key == self._shown:
            return
        now = time.monotonic()
        if not force and now - self._flushed_at < 1.0 / FLUSH_HZ:
            return
        self._flushed_at = now
        self._shown = key
        self._update_titles()
        self.refresh()

    def _key(self) -> tuple[object, ...]:
        games, evals, running = self.games, self.evals, self.running
        return (
            id(games),
            games.version,
            id(evals),
            evals.version,
            running.version,
            self.view,
            self.loading,
        )

    def _update_titles(self) -> None:
        self._titled_width = self.outer_size.width
        view = self.view
        mean = self.finished_mean
        count, best = self.games.count, fmt_num(self.best)
        title = "lines/game  reading the run…" if self.loading else "lines/game"
        live, playing = fmt_num(self.running_now), fmt_int(self.running_games)
        if count or self.running_now is not None:
            # The longest that fits the border: narrow terminals get the short forms.
            # The marks are the legend: the finished games' line, the running games'.
            for title in self._titles(fmt_num(mean), best, count, live, playing):
                if len(title) + 6 <= self.outer_size.width:
                    break
        smoothing = "ema off" if view.window <= 1 else f"ema {view.window}"
        scale = "log" if view.log_y else "lin"
        subtitle = f"t {view.axis} · l {scale} · a {smoothing}"
        if self._title != title:
            self._title = title
            # The legend's marks in their lines' colours (a border title takes markup).
            self.border_title = title.replace(
                FINISHED_MARK, f"[$success]{FINISHED_MARK}[/]"
            ).replace(RUNNING_MARK, f"[$primary-lighten-2]{RUNNING_MARK}[/]")
        if self.border_subtitle != subtitle:
            self.border_subtitle = subtitle

    def _titles(self, mean: str, best: str, count: int, live: str, playing: str) -> list[str]:
        """The title, longest first: the finished games, then the running ones."""
        done, now = FINISHED_MARK, RUNNING_MARK
        if self.running_now is None:
            return [
                f"lines/game  avg100 {mean}  best {best}  {fmt_int(count)} games",
                f"lines/game  avg {mean}  best {best}  {fmt_num(count)} games",
                f"lines/game  avg {mean}  {fmt_num(count)} games",
            ]
        return [
            f"lines/game  {done} finished avg100 {mean}  best {best}  {fmt_int(count)} games"
            f"  {now} running {live} so far ({playing} games)",
            f"lines/game  {done} finished avg100 {mean}  {fmt_num(count)} games"
            f"  {now} running {live} so far",
            f"lines/game {done} finished avg {mean} {now} running {live} so far",
            f"lines/game {done} finished {mean} {now} running {live}",
            f"lines {done} done {mean} {now} running {live}",
        ]

    def render_lines(self, crop: Region) -> list[Strip]:
        if self._titled_width != self.outer_size.width:
            # Chosen where it is drawn: a title picked before the first layout (a
            # reopened run read faster than the screen's first paint) must not stay.
            self._update_titles()
        key = (*self._key(), self.size, self.rich_style)
        if key != self._drawn or not self._strips:
            self._strips = self._render_chart()
            self._drawn = key
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        if 0 <= y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.size.width, self.rich_style)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips = []  # a theme change: draw again

    def layer_styles(self) -> dict[str, Style]:
        """Axis, points, line and eval styles: theme colours over the background.

        Bold sets the lines apart from the points where colour is gone (NO_COLOR).
        """
        base = self.rich_style
        _, background = self.background_colors
        styles = {}
        for name in STYLE_NAMES:
            component = self.get_component_styles(f"curve--{name}")
            colour = (background + component.color).rich_color
            styles[name] = base + Style(color=colour, bold=bool(component.text_style.bold))
        return styles

    def _render_chart(self) -> list[Strip]:
        width, height = self.size
        base = self.rich_style
        styles: dict[str | None, Style] = {None: base, **self.layer_styles()}
        games = BucketHistory() if self.loading and not self.games.count else self.games
        rows = draw(games, self.evals, self.view, width, height, self.running)
        return [
            Strip([Segment(text, styles[name]) for text, name in row]).adjust_cell_length(
                width, base
            )
            for row in rows
        ]
