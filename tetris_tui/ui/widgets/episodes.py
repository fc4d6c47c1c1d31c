"""The episode log: one row per finished game, bounded, newest at the bottom.

A line-API ``ScrollView`` rather than a DataTable: a DataTable re-lays out and
re-renders every visible cell through Rich on each added row, which cost a
third of a core with fast games; here a row is a handful of Segments built
only when it is on screen. Rows live in a deque (``max_rows``). The log follows
the newest game until the user scrolls up; ``follow()`` (or scrolling back to
the end) resumes it. A row's Strip is built once and reused while it scrolls.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tetris_tui.protocol import Episode

# (key, header, width); each width includes the gap on the left.
# The first 45 columns fit the episode panel of an 80-column terminal; the rest
# are cut off there and seen on wider terminals.
COLUMNS = (
    ("star", "", 2),
    ("n", "#", 7),
    ("lines", "lines", 6),
    ("reward", "reward", 8),
    ("pieces", "pieces", 7),
    ("steps", "steps", 6),
    ("time", "time", 9),
    ("duration", "game s", 8),
    ("timesteps", "timestep", 11),
    ("env", "env", 5),
)
ROW_WIDTH = sum(width for _, _, width in COLUMNS)
STRIP_CACHE = 256  # rendered rows kept (a screenful is at most a few dozen)
STAR = "★"


def clock(timestamp: float) -> str:
    """Local wall-clock time of a game's end."""
    try:
        return time.strftime("%H:%M:%S", time.localtime(timestamp))
    except (OverflowError, OSError, ValueError):
        return "–"


def row_cells(episode: Episode, record: bool) -> tuple[str, ...]:
    """The text of one row, in COLUMNS order."""
    return (
        STAR if record else "",
        f"{episode.episode:,}",
        str(episode.lines),
        f"{episode.reward:.1f}",
        str(episode.pieces),
        str(episode.length),
        clock(episode.time),
        f"{episode.duration_s:.1f}",
        f"{episode.timesteps:,}",
        str(episode.env_index),
    )


def row_text(cells: Sequence[str]) -> str:
    """Cells right-aligned in their columns (cut if too long)."""
    return "".join(
        cell.rjust(width)[-width:] for cell, (_, _, width) in zip(cells, COLUMNS, strict=True)
    )


class EpisodeLog(ScrollView, can_focus=True):
    """Finished games; a ★ marks each game that set a new best for lines."""

    COMPONENT_CLASSES = {"episodes--header", "episodes--odd", "episodes--record"}

    DEFAULT_CSS = """
    EpisodeLog { overflow-x: hidden; }
    EpisodeLog > .episodes--header { color: $text-muted; text-style: bold; }
    EpisodeLog > .episodes--odd { background: $boost; }
    EpisodeLog > .episodes--record { color: $text-warning; text-style: bold; }
    """

    def __init__(self, max_rows: int = 500, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_rows = max_rows
        self.rows: deque[tuple[str, bool]] = deque(maxlen=max_rows)
        self.games = 0
        self.best_lines: int | None = None
        self.best_episode: int | None = None
        self.following = True
        self._first_index = 0  # games dropped off the top, for zebra parity
        # Component styles of the last repaint, and each kept row's strip by game number.
        self._styles: tuple[Style, Style, Style, Style] | None = None
        self._strips: dict[int, Strip] = {}
        self._strips_key: tuple[int, int] = (0, 0)

    def on_mount(self) -> None:
        self._update_subtitle()

    # -- data in -------------------------------------------------------------------
    def add_episodes(self, episodes: Sequence[Episode]) -> None:
        """Append games (oldest first); keeps at most ``max_rows`` rows."""
        if not episodes:
            return
        records = [self._record(episode) for episode in episodes]
        # Rows that would fall straight off the deque are never formatted.
        keep = min(len(episodes), self.max_rows)
        self._append_rows(
            [
                (row_text(row_cells(episode, record)), record)
                for episode, record in zip(episodes[-keep:], records[-keep:], strict=True)
            ],
            len(episodes),
        )

    def add_note(self, text: str) -> None:
        """A highlighted line between the games: a new best model, a target reached."""
        self._append_rows([(f"  » {text}", True)], 1)

    def _append_rows(self, rows: list[tuple[str, bool]], added: int) -> None:
        before = len(self.rows)
        self.rows.extend(rows)
        dropped = before + added - len(self.rows)
        self._first_index += dropped
        self._set_virtual_size(Size(ROW_WIDTH, len(self.rows) + 1))
        if self.following:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True, force=True)
        elif dropped:
            # Keep the rows the user is reading where they are.
            self.scroll_to(
                y=max(0, self.scroll_y - dropped), animate=False, immediate=True, force=True
            )
        self._update_subtitle()
        self.refresh()

    def _set_virtual_size(self, size: Size) -> None:
        """Grow the scrollable area without a screen-wide layout pass.

        Assigning ``virtual_size`` (a layout reactive) re-lays out and repaints the
        whole screen, on every batch of games. Only the scrollbars depend on it, so
        update them directly; they still trigger a layout themselves if they have
        to appear or disappear.
        """
        if size == self.virtual_size:
            return
        scroll_update = getattr(self, "_scroll_update", None)
        if scroll_update is None:  # a Textual without the hook: take the slow path
            self.virtual_size = size
            return
        self.set_reactive(ScrollView.virtual_size, size)
        scroll_update(size)

    def _record(self, episode: Episode) -> bool:
        """Count the game and say whether it set a new best for lines."""
        self.games += 1
        best = self.best_lines
        record = episode.lines > 0 and (best is None or episode.lines > best)
        if best is None or episode.lines > best:
            self.best_lines = episode.lines
            self.best_episode = episode.episode
        return record

    def follow(self) -> None:
        """Jump to the newest game and keep following."""
        self.following = True
        self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True, force=True)
        self._update_subtitle()

    def row_texts(self) -> list[str]:
        """The rows' plain text, oldest first (for tests)."""
        return [text for text, _ in self.rows]

    @property
    def row_count(self) -> int:
        return len(self.rows)

    # -- scrolling -----------------------------------------------------------------
    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        following = new_value >= self.max_scroll_y
        if following != self.following:
            self.following = following
            self._update_subtitle()

    def _update_subtitle(self) -> None:
        parts = [f"{self.games:,} games"]
        if self.best_lines and self.best_episode is not None:
            parts.append(f"best {self.best_lines} (#{self.best_episode:,})")
        if self.games and not self.following:
            parts.append("f: follow")
        self.border_subtitle = " · ".join(parts)

    # -- drawing -------------------------------------------------------------------
    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None  # a theme or focus change: look the styles up again

    def render_lines(self, crop: Region) -> list[Strip]:
        # Styles walk the DOM: look them up once per repaint, not per line (and
        # keep them until Textual reports a style change).
        if self._styles is None:
            base = self.rich_style
            self._styles = (
                base,
                base + self.get_component_rich_style("episodes--header"),
                base + self.get_component_rich_style("episodes--odd"),
                self.get_component_rich_style("episodes--record"),
            )
            self._strips.clear()
        key = (self.scroll_offset.x, self.scrollable_content_region.width)
        if key != self._strips_key:
            self._strips_key = key
            self._strips.clear()
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        """A row's strip is built once: following the log shifts rows, it does not change them."""
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base, header, odd, record_style = self._styles or (self.rich_style,) * 4
        if y == 0:
            text = row_text([header for _, header, _ in COLUMNS])
            return self._strip(text, header, scroll_x, width, base)
        index = scroll_y + y - 1
        if index >= len(self.rows):
            return Strip.blank(width, base)
        number = self._first_index + index  # stable while the row is kept
        strip = self._strips.get(number)
        if strip is None:
            text, record = self.rows[index]
            style = odd if number % 2 else base
            if record:
                style += record_style
            strip = self._strip(text, style, scroll_x, width, style)
            if len(self._strips) > 2 * STRIP_CACHE:
                self._strips.clear()
            self._strips[number] = strip
        return strip

    @staticmethod
    def _strip(text: str, style: Style, scroll_x: int, width: int, fill: Style) -> Strip:
        strip = Strip([Segment(text, style)], len(text))
        return strip.crop(scroll_x, scroll_x + width).adjust_cell_length(width, fill)
