"""The learning panel: one sparkline row per figure, with last/min/max beside it.

Lines per game and the evaluations have moved to the whole-run chart (curve.py);
these rows keep the recent window of the other game figures and the PPO internals.

One line-API widget draws every row (label, bars with the look of Textual's
``Sparkline``, figures) and the PPO summary line. As 40 child widgets (a Label,
a Sparkline and a stats line per row, in a container each) every repaint walked
the whole subtree through Textual's Visual pipeline; here a row is rendered to
Strips once when its series changes, and only that row's lines are repainted.
The panel owns bounded ``Series`` and redraws in ``flush()``, once per drained
batch at most, so pushing many games at once costs one repaint, not one per game.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from tetris_tui.protocol import Episode, Metrics
from tetris_tui.ui.widgets.series import Series, fmt_num
from tetris_tui.ui.widgets.spark import spark_rows
from tetris_tui.ui.widgets.textline import text_strip


@dataclass(frozen=True)
class RowSpec:
    key: str
    label: str
    with_mean: bool = False
    maxlen: int = 1000


ROWS = (
    RowSpec("reward", "reward/game", with_mean=True),
    RowSpec("pieces", "pieces/game"),
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
LONG_STATS = 40  # a figures column at least this wide spells out last/min/max/avg100


@dataclass(frozen=True)
class Geometry:
    """Column widths and row height; the screen picks them for the terminal size."""

    label: int = 12
    stats: int = 22
    row_height: int = 1


def geometry_for(width: int, height: int) -> Geometry:
    """Narrow terminals: tight columns; very wide: long-form figures; tall: 2-row sparklines."""
    row_height = 2 if height >= 40 else 1
    if width < 100:
        return Geometry(label=11, stats=20, row_height=row_height)
    if width < 140:
        return Geometry(label=13, stats=22, row_height=row_height)
    return Geometry(label=12, stats=46, row_height=row_height)


def stats_text(series: Series, with_mean: bool, width: int, label: Style, value: Style) -> Text:
    """``last  min  max  avg100`` for one series; abbreviated when ``width`` is small."""
    last, low, high, mean = series.last, series.min, series.max, series.mean
    text = Text(no_wrap=True, overflow="ellipsis")
    if last is None:
        return text.append(f"{'–':>6}" if width < LONG_STATS else "–", label)
    if width >= LONG_STATS:
        text.append("last ", label).append(f"{fmt_num(last):<6}", value)
        text.append(" min ", label).append(f"{fmt_num(low):<6}", value)
        text.append(" max ", label).append(f"{fmt_num(high):<6}", value)
        if with_mean:
            text.append(" avg100 ", label).append(fmt_num(mean), value)
    else:
        text.append(f"{fmt_num(last):>6}", value)
        text.append(f" {fmt_num(low)}–{fmt_num(high)}", label)
        if with_mean:
            text.append(" μ", label).append(fmt_num(mean), value)
    return text


def _key_classes(key: str) -> tuple[str, str]:
    return f"spark-{key}--min", f"spark-{key}--max"


class LearningPanel(Widget):
    """Sparklines for game results, speed and PPO update figures, in one widget."""

    COMPONENT_CLASSES = {
        "learning--label",
        "learning--value",
        *(name for spec in ROWS for name in _key_classes(spec.key)),
    }

    DEFAULT_CSS = """
    LearningPanel { height: auto; }
    LearningPanel > .learning--label { color: $text-muted; }
    LearningPanel > .learning--value { text-style: bold; }
    """ + "\n".join(
        f"LearningPanel > .spark-{spec.key}--min {{ color: $primary 30%; }}\n"
        f"LearningPanel > .spark-{spec.key}--max {{ color: $primary; }}"
        for spec in ROWS
    )

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.series: dict[str, Series] = {spec.key: Series(spec.maxlen) for spec in ROWS}
        self.summary: dict[str, float] = {}
        self.updates = 0
        self.geometry = Geometry()
        self._dirty: set[str] = set()
        self._summary_dirty = True
        self._flushed_at = 0.0
        # Rendered rows and summary, dropped when their content or the look changes.
        self._rows: dict[str, list[Strip]] = {}
        self._summary_strip: Strip | None = None
        self._cache_key: tuple[object, ...] = ()
        self._base = Style()
        self._width = 0
        self._bar_styles: dict[tuple[int, int, int], Style] = {}  # bar colour -> style

    # -- data in -------------------------------------------------------------------
    def add_episodes(self, episodes: Iterable[Episode]) -> None:
        for episode in episodes:
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

    def _push(self, key: str, value: object) -> None:
        if self.series[key].push(value):
            self._dirty.add(key)

    def set_geometry(self, geometry: Geometry) -> None:
        """Column widths and row height (the height changes the panel's size: a layout)."""
        if geometry != self.geometry:
            relayout = geometry.row_height != self.geometry.row_height
            self.geometry = geometry
            self._rows.clear()
            self._summary_strip = None
            self.refresh(layout=relayout)

    # -- drawing -------------------------------------------------------------------
    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(ROWS) * self.geometry.row_height + 1

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache_key = ()  # a theme or class change: render everything again

    def on_resize(self) -> None:
        self._rows.clear()
        self._summary_strip = None
        self.refresh()

    def flush(self, force: bool = False) -> None:
        """Repaint the rows whose series changed, at most FLUSH_HZ times a second.

        Fast games arrive on nearly every drain tick; redrawing sparklines 20
        times a second would cost CPU for nothing the eye can follow.
        """
        if not self.is_attached or not (self._dirty or self._summary_dirty):
            return
        now = time.monotonic()
        if not force and now - self._flushed_at < 1.0 / FLUSH_HZ:
            return
        self._flushed_at = now
        width, height = self.size.width, self.geometry.row_height
        regions = []
        for index, spec in enumerate(ROWS):
            if spec.key in self._dirty:
                self._rows.pop(spec.key, None)
                regions.append(Region(0, index * height, width, height))
        self._dirty.clear()
        if self._summary_dirty:
            self._summary_dirty = False
            self._summary_strip = None
            regions.append(Region(0, len(ROWS) * height, width, 1))
        if regions and width:
            self.refresh(*regions)

    def render_lines(self, crop: Region) -> list[Strip]:
        key = (self.rich_style, self.size)
        if key != self._cache_key:
            self._cache_key = key
            self._base, self._width = key[0], key[1].width
            self._bar_styles.clear()
            self._rows.clear()
            self._summary_strip = None
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width, base = self._width, self._base  # looked up once per repaint in render_lines
        height = self.geometry.row_height
        index, line = divmod(y, height)
        if index < len(ROWS):
            spec = ROWS[index]
            strips = self._rows.get(spec.key)
            if strips is None:
                strips = self._rows[spec.key] = self._render_row(spec, width, base)
            return strips[line]
        if y == len(ROWS) * height:
            if self._summary_strip is None:
                self._summary_strip = self._text_strip(self._summary_text(), width, base)
            return self._summary_strip
        return Strip.blank(width, base)

    def _render_row(self, spec: RowSpec, width: int, base: Style) -> list[Strip]:
        """Label | sparkline | figures, as ``row_height`` strips of exactly ``width`` cells."""
        geometry = self.geometry
        height = geometry.row_height
        label_style = base + self.get_component_rich_style("learning--label")
        value_style = base + self.get_component_rich_style("learning--value")
        label_width = min(geometry.label, width)
        stats_width = min(geometry.stats, max(0, width - label_width))
        spark_width = max(0, width - label_width - stats_width - 2)
        spark = self._spark_lines(spec, spark_width, height, base)
        series = self.series[spec.key]
        text = stats_text(series, spec.with_mean, stats_width, label_style, value_style)
        figures = self._text_strip(text, stats_width, base)
        blank_stats = Strip.blank(stats_width, base)
        gap = Segment(" ", base)
        label = Segment(spec.label[:label_width].ljust(label_width), label_style)
        strips = []
        for line in range(height):
            segments = [label if line == 0 else Segment(" " * label_width, base)]
            if spark_width:
                segments.append(gap)
                segments.extend(spark[line])
                segments.append(gap)
            segments.extend(figures if line == 0 else blank_stats)
            strips.append(Strip(segments).adjust_cell_length(width, base))
        return strips

    def _spark_lines(
        self, spec: RowSpec, width: int, height: int, base: Style
    ) -> list[list[Segment]]:
        """The row's sparkline, coloured from min to max like Textual's Sparkline widget."""
        _, background = self.background_colors
        low_class, high_class = _key_classes(spec.key)
        low = background + self.get_component_styles(low_class).color
        high = background + self.get_component_styles(high_class).color
        rows = spark_rows(self.series[spec.key].data(), width, height, low.rgb, high.rgb)
        styles = self._bar_styles  # colours repeat from one repaint to the next
        if len(styles) > 4096:
            styles.clear()

        def style(rgb: tuple[int, int, int] | None) -> Style:
            if rgb is None:
                return base
            cached = styles.get(rgb)
            if cached is None:
                cached = styles[rgb] = base + Style(color=RichColor.from_rgb(*rgb))
            return cached

        return [[Segment(text, style(rgb)) for text, rgb in row] for row in rows]

    def _text_strip(self, text: Text, width: int, base: Style) -> Strip:
        return text_strip(text, width, base, self.app.console)

    def _summary_text(self) -> Text:
        """Long labels when the panel is wide, abbreviations in 80 columns."""
        short = self.size.width and self.size.width < 70
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("upd " if short else "updates ", "dim").append(str(self.updates), "bold")
        for key, label in SUMMARY_KEYS:
            name = SHORT_LABELS.get(key, label) if short else label
            text.append(f"  {name} ", "dim").append(fmt_num(self.summary.get(key)), "bold")
        return text
