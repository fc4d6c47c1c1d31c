"""The Tetris board: one line-rendered widget, not 200 child widgets.

Each cell is two characters wide (``scale`` doubles that and the height on big
terminals). Every piece kind has its own colour *and* its own glyph pair, so
the board reads in NO_COLOR / monochrome terminals too. The widget is pure:
give it a ``protocol.Board`` frame and it draws it.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from tetris_tui.protocol import BOARD_COLS, BOARD_ROWS, EMPTY, Board
from tetris_tui.ui.widgets.pieces import SHAPES, piece_cell

SIDE_WIDTH = 10  # wall (1) + side panel (9)
STRIP_CACHE = 512  # rendered lines kept; empty and unchanged rows repeat a lot


class BoardView(Widget):
    """Draws the 20x10 well, the next/hold previews and the current game's counters."""

    COMPONENT_CLASSES = {
        "board--well",
        "board--wall",
        "board--label",
        "board--value",
        "board--message",
    }

    DEFAULT_CSS = """
    BoardView {
        width: auto;
        height: auto;
        max-height: 100%;
    }
    BoardView > .board--well { background: $background; color: $foreground 18%; }
    BoardView > .board--wall { color: $primary 60%; }
    BoardView > .board--label { color: $text-muted; text-style: bold; }
    BoardView > .board--value { color: $text; text-style: bold; }
    BoardView > .board--message { color: $text-warning; text-style: bold; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.frame: Board | None = None
        self.watching = True
        self.message: str = "press s to start"
        self.scale = 1
        self._look: Look | None = None
        self._palette: tuple[Style, ...] | None = None
        self._strips: dict[tuple[object, ...], Strip] = {}
        self._side_cache: tuple[tuple[int, Style], list[tuple[Segment, ...]]] | None = None

    # -- data in -------------------------------------------------------------------
    def show_frame(self, frame: Board) -> None:
        """Draw this frame (the app passes only the last one of a batch).

        Only the lines that differ from the previous frame are repainted: a
        placement changes a few rows, and a full repaint at 15 frames a second
        was most of the UI's CPU.
        """
        old, old_side = self.frame, self._side_cache
        self.frame = frame
        self._side_cache = None
        drawn = len(old.cells) if old is not None and old.cells else BOARD_ROWS * BOARD_COLS
        if drawn != len(frame.cells):
            # Another board height (the run's rules); before any frame, 20 rows were laid out.
            self.refresh(layout=True)
            return
        if old is None or old_side is None or not self.watching or not self.size:
            self.refresh()
            return
        look = self._make_look()
        lines = self._changed_lines(old, frame, old_side[1], look)
        if lines:
            self.refresh(*(Region(0, y, look.width, h) for y, h in _runs(sorted(lines))))

    def _changed_lines(
        self, old: Board, new: Board, old_side: list[tuple[Segment, ...]], look: Look
    ) -> set[int]:
        """Widget lines whose content differs between two frames."""
        scale, height, offset = self.scale, look.height, look.offset
        lines: set[int] = set()
        old_marks, new_marks = old.highlight or b"", new.highlight or b""
        for row in range(self.rows):
            cut = slice(row * BOARD_COLS, (row + 1) * BOARD_COLS)
            if old.cells[cut] != new.cells[cut] or old_marks[cut] != new_marks[cut]:
                lines.update(range(row * scale - offset, (row + 1) * scale - offset))
        side = self._side_lines(look)
        for y in range(max(len(side), len(old_side))):
            if y >= len(side) or y >= len(old_side) or side[y] != old_side[y]:
                lines.add(y)
        return {y for y in lines if 0 <= y < height}

    def set_watching(self, on: bool) -> None:
        if on != self.watching:
            self.watching = on
            self._side_cache = None
            self.refresh()

    def set_message(self, message: str) -> None:
        """A line shown in the well while there is no frame (e.g. ``press s to start``)."""
        if message != self.message:
            self.message = message
            self.refresh()

    def set_scale(self, scale: int) -> None:
        """1 = two characters per cell, one row; 2 = four characters, two rows."""
        scale = 2 if scale >= 2 else 1
        if scale != self.scale:
            self.scale = scale
            self._side_cache = None
            self.refresh(layout=True)

    # -- layout ----------------------------------------------------------------------
    @property
    def rows(self) -> int:
        """Board rows: the frame's (20, or 10 under the research rules), else 20."""
        frame = self.frame
        return len(frame.cells) // BOARD_COLS if frame is not None and frame.cells else BOARD_ROWS

    @property
    def well_width(self) -> int:
        return BOARD_COLS * 2 * self.scale

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return self.well_width + SIDE_WIDTH

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self.rows * self.scale

    # -- drawing ---------------------------------------------------------------------
    def _overlay(self) -> tuple[str, ...]:
        """Text drawn across the middle of the well, if any."""
        if not self.watching:
            return ("watching off", "w: turn on")
        if self.frame is None and self.message:
            return (self.message,)
        return ()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._palette = None  # a theme or class change: look the styles up again

    def _make_look(self) -> Look:
        """Everything the lines of one repaint share, looked up once (not per line).

        The styles walk the DOM (a millisecond per frame), so they are kept
        until Textual reports a style change.
        """
        palette = self._palette
        if palette is None:
            base = self.rich_style
            palette = self._palette = (
                base,
                base + self.get_component_rich_style("board--well"),
                base + self.get_component_rich_style("board--wall"),
                self.get_component_rich_style("board--message"),
                base + self.get_component_rich_style("board--label"),
                base + self.get_component_rich_style("board--value"),
            )
        width, height = self.size
        offset = max(0, self.rows * self.scale - height)
        return Look(width, height, offset, *palette)

    def render_lines(self, crop: Region) -> list[Strip]:
        # Widget.size and rich_style walk the DOM: look them up once per repaint.
        look = self._make_look()
        if look != self._look:
            self._look = look
            self._strips.clear()
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        look = self._look or self._make_look()
        row_y = y + look.offset  # on short terminals the top rows go: the stack matters most
        side = self._side_lines(look)
        side_line = side[y] if y < len(side) else ()
        top_edge = bool(look.offset) and y == 0
        key = (self._row_key(row_y), top_edge, side_line)
        strip = self._strips.get(key)
        if strip is None:
            segments = self._well_line(row_y, look)
            segments.append(Segment("▕" if top_edge else "│", look.wall))
            segments.extend(side_line)
            used = self.well_width + 1 + sum(len(segment.text) for segment in side_line)
            if used < look.width:
                segments.append(Segment(" " * (look.width - used), look.base))
            strip = Strip(_merge(segments), max(used, look.width))
            if used > look.width:
                strip = strip.crop(0, look.width)
            if len(self._strips) > STRIP_CACHE:
                self._strips.clear()
            self._strips[key] = strip
        return strip

    def _row_key(self, row_y: int) -> tuple[object, ...]:
        """What a well line's look depends on (empty rows share one cached strip)."""
        overlay = self._overlay()
        frame = self.frame
        if overlay or frame is None or not self.watching:
            return ("overlay", overlay, row_y, self.scale)
        start = (row_y // self.scale) * BOARD_COLS
        marks = frame.highlight[start : start + BOARD_COLS] if frame.highlight else b""
        return (frame.cells[start : start + BOARD_COLS], marks, self.scale)

    def _well_line(self, row_y: int, look: Look) -> list[Segment]:
        scale = self.scale
        width = self.well_width
        well = look.well
        overlay = self._overlay()
        if overlay:
            top = (self.rows * scale - len(overlay)) // 2
            index = row_y - top
            if 0 <= index < len(overlay):
                text = overlay[index][:width].center(width)
                return [Segment(text, well + look.message)]
        empty = Segment((" ·" if scale == 1 else "  · ")[: 2 * scale], well)
        frame = self.frame
        if frame is None or not self.watching or len(frame.cells) < BOARD_COLS:
            return [empty] * BOARD_COLS
        board_row = row_y // scale
        start = board_row * BOARD_COLS
        cells = frame.cells[start : start + BOARD_COLS]
        marks = frame.highlight[start : start + BOARD_COLS] if frame.highlight else None
        line: list[Segment] = []
        for col, kind in enumerate(cells):
            if kind == EMPTY:
                line.append(empty)
            else:
                lit = bool(marks and col < len(marks) and marks[col])
                line.append(piece_cell(kind, lit, 2 * scale))
        return line

    def _side_lines(self, look: Look) -> list[tuple[Segment, ...]]:
        """The side panel, one tuple of segments per row (cached per frame)."""
        key = (look.height, look.base)
        if self._side_cache is not None and self._side_cache[0] == key:
            return self._side_cache[1]
        base, label, value = look.base, look.label, look.value
        frame = self.frame
        rows: list[tuple[Segment, ...]] = []

        def text(content: str, style: Style) -> None:
            rows.append((Segment(" " + content[: SIDE_WIDTH - 2], style),))

        def preview(kind: int | None) -> None:
            if kind is None or kind not in SHAPES:
                rows.append((Segment(" –", label),))
                rows.append(())
                return
            for shape_row in SHAPES[kind]:
                line = [Segment(" ", base)]
                for mark in shape_row:
                    line.append(piece_cell(kind) if mark == "X" else Segment("  ", base))
                rows.append(tuple(_merge(line)))

        next_pieces = frame.next_pieces if frame is not None and self.watching else ()
        # Counters take 6 rows and hold 4: give the previews what is left.
        room = max(1, (look.height - 10 - 1) // 3)
        text("NEXT", label)
        for kind in list(next_pieces)[:room] or [None]:
            preview(kind)
            rows.append(())
        text("HOLD", label)
        preview(frame.hold if frame is not None and self.watching else None)
        rows.append(())
        text("LINES", label)
        text(str(frame.lines) if frame is not None else "–", value)
        text("PIECES", label)
        text(str(frame.pieces) if frame is not None else "–", value)
        self._side_cache = (key, rows)
        return rows


@dataclass(frozen=True)
class Look:
    """Size, crop offset and styles shared by every line of one repaint."""

    width: int
    height: int
    offset: int
    base: Style
    well: Style
    wall: Style
    message: Style
    label: Style
    value: Style


def _runs(lines: list[int]) -> list[tuple[int, int]]:
    """Sorted line numbers as (first, count) runs: one dirty region per run."""
    runs: list[tuple[int, int]] = []
    for y in lines:
        if runs and runs[-1][0] + runs[-1][1] == y:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((y, 1))
    return runs


def _merge(segments: list[Segment]) -> list[Segment]:
    """Join neighbours of the same style: fewer segments are cheaper at every later stage."""
    merged: list[Segment] = []
    for segment in segments:
        if merged and merged[-1].style == segment.style:
            merged[-1] = Segment(merged[-1].text + segment.text, segment.style)
        else:
            merged.append(segment)
    return merged
