"""The learning panel: one Sparkline row per figure, with last/min/max beside it.

The panel owns bounded ``Series`` and only copies a series into its Sparkline
in ``flush()``, once per drained batch, for rows that changed: pushing many
games at once costs one repaint, not one per game.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Sparkline

from tetris_tui.protocol import Episode, Evaluation, Metrics
from tetris_tui.ui.widgets.series import Series, fmt_num
from tetris_tui.ui.widgets.textline import TextLine


@dataclass(frozen=True)
class RowSpec:
    key: str
    label: str
    with_mean: bool = False
    maxlen: int = 1000


ROWS = (
    RowSpec("lines", "lines/game", with_mean=True),
    RowSpec("reward", "reward/game", with_mean=True),
    RowSpec("pieces", "pieces/game"),
    RowSpec("eval", "eval lines"),
    RowSpec("sps", "steps/s", maxlen=600),
    RowSpec("entropy", "entropy"),
    RowSpec("value_loss", "value loss"),
    RowSpec("approx_kl", "approx kl"),
)
# Train keys shown in the one-line summary under the sparklines.
SUMMARY_KEYS = (
    ("policy_loss", "policy loss"),
    ("clip_fraction", "clip"),
    ("explained_variance", "expl.var"),
)

FLUSH_HZ = 4.0
SHORT_LABELS = {"policy_loss": "pg", "explained_variance": "ev"}


def _mean(values: list[float]) -> float:
    return statistics.fmean(values)


class Stats(TextLine):
    """``last  min  max  mean(100)`` for one series, long or short by its own width."""

    DEFAULT_CSS = """
    Stats { width: 22; height: 1; }
    Stats > .stats--label { color: $text-muted; }
    Stats > .stats--value { text-style: bold; }
    """
    COMPONENT_CLASSES = {"stats--label", "stats--value"}

    def __init__(self, with_mean: bool, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.with_mean = with_mean
        self.figures: tuple[float | None, float | None, float | None, float | None] = (
            None,
            None,
            None,
            None,
        )

    def set_figures(
        self, last: float | None, low: float | None, high: float | None, mean: float | None
    ) -> None:
        figures = (last, low, high, mean)
        if figures != self.figures:
            self.figures = figures
            self.refresh()

    def line_text(self) -> Text:
        last, low, high, mean = self.figures
        label = self.get_component_rich_style("stats--label")
        value = self.get_component_rich_style("stats--value")
        text = Text(no_wrap=True, overflow="ellipsis")
        if last is None:
            return text.append(f"{'–':>6}" if self.size.width < 40 else "–", label)
        if self.size.width >= 40:
            text.append("last ", label).append(f"{fmt_num(last):<6}", value)
            text.append(" min ", label).append(f"{fmt_num(low):<6}", value)
            text.append(" max ", label).append(f"{fmt_num(high):<6}", value)
            if self.with_mean:
                text.append(" avg100 ", label).append(fmt_num(mean), value)
        else:
            text.append(f"{fmt_num(last):>6}", value)
            text.append(f" {fmt_num(low)}–{fmt_num(high)}", label)
            if self.with_mean:
                text.append(" μ", label).append(fmt_num(mean), value)
        return text


class SummaryLine(TextLine):
    """One line of text; unlike Static.update, a new text costs no layout pass."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.text = Text()

    def set_text(self, text: Text) -> None:
        if text != self.text:
            self.text = text
            self.refresh()

    def line_text(self) -> Text:
        return self.text.copy()


class LearningRow(Horizontal):
    """Label | Sparkline | Stats."""

    def __init__(self, spec: RowSpec) -> None:
        super().__init__(id=f"row-{spec.key}", classes="learning-row")
        self.spec = spec
        self.spark = Sparkline([], summary_function=_mean, id=f"spark-{spec.key}")
        self.stats = Stats(spec.with_mean, id=f"stats-{spec.key}")

    def compose(self) -> ComposeResult:
        yield Label(self.spec.label, classes="row-label")
        yield self.spark
        yield self.stats


class LearningPanel(Vertical):
    """Sparklines for game results, speed and PPO update figures."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.series: dict[str, Series] = {spec.key: Series(spec.maxlen) for spec in ROWS}
        self.summary: dict[str, float] = {}
        self.updates = 0
        self._dirty: set[str] = set()
        self._summary_dirty = True
        self._flushed_at = 0.0
        # Held, not queried: flush runs up to 20 times a second, and during
        # shutdown a query may find the children already gone.
        self.rows = {spec.key: LearningRow(spec) for spec in ROWS}
        self.summary_line = SummaryLine(id="train-summary")

    def compose(self) -> ComposeResult:
        yield from self.rows.values()
        yield self.summary_line

    # -- data in -------------------------------------------------------------------
    def add_episodes(self, episodes: Iterable[Episode]) -> None:
        for episode in episodes:
            self._push("lines", episode.lines)
            self._push("reward", episode.reward)
            self._push("pieces", episode.pieces)

    def add_metrics(self, metrics: Metrics) -> None:
        if metrics.steps_per_sec:
            self._push("sps", metrics.steps_per_sec)
        for key in ("entropy", "value_loss", "approx_kl"):
            if key in metrics.train:
                self._push(key, metrics.train[key])
        for key, _ in SUMMARY_KEYS:
            if key in metrics.train:
                self.summary[key] = metrics.train[key]
                self._summary_dirty = True
        if metrics.updates != self.updates:
            self.updates = metrics.updates
            self._summary_dirty = True

    def add_evaluation(self, evaluation: Evaluation) -> None:
        self._push("eval", evaluation.lines_mean)

    def _push(self, key: str, value: object) -> None:
        if self.series[key].push(value):
            self._dirty.add(key)

    # -- drawing -------------------------------------------------------------------
    def on_resize(self) -> None:
        self._summary_dirty = True
        self.flush(force=True)

    def flush(self, force: bool = False) -> None:
        """Copy changed series into their widgets, at most FLUSH_HZ times a second.

        Fast games arrive on nearly every drain tick; redrawing sparklines 20
        times a second would cost CPU for nothing the eye can follow.
        """
        if not self.is_attached or not (self._dirty or self._summary_dirty):
            return
        now = time.monotonic()
        if not force and now - self._flushed_at < 1.0 / FLUSH_HZ:
            return
        self._flushed_at = now
        for key in self._dirty:
            series = self.series[key]
            row = self.rows[key]
            if row.is_attached:
                row.spark.data = series.data()
                row.stats.set_figures(series.last, series.min, series.max, series.mean)
        self._dirty.clear()
        if self._summary_dirty and self.summary_line.is_attached:
            self._summary_dirty = False
            self.summary_line.set_text(self._summary_text())

    def _summary_text(self) -> Text:
        """Long labels when the panel is wide, abbreviations in 80 columns."""
        short = self.size.width and self.size.width < 70
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("upd " if short else "updates ", "dim").append(str(self.updates), "bold")
        for key, label in SUMMARY_KEYS:
            name = SHORT_LABELS.get(key, label) if short else label
            text.append(f"  {name} ", "dim").append(fmt_num(self.summary.get(key)), "bold")
        return text
