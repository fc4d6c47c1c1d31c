"""A one-line widget drawn through the line API.

``Widget.render()`` sends a Text through Textual's Visual pipeline, which cost
a few milliseconds per repaint; the stats, the status bar and the PPO summary
repaint several times a second, so they build their one Strip directly.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.text import Text
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget


class TextLine(Widget):
    """Subclasses return their content from ``line_text()``; call ``refresh()`` on change."""

    DEFAULT_CSS = "TextLine { height: 1; }"

    def line_text(self) -> Text:
        raise NotImplementedError

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 1

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y != 0 or width <= 0:
            return Strip.blank(width, base)
        text = self.line_text()
        text.truncate(width, overflow="ellipsis")
        segments = [
            Segment(segment.text, base + segment.style if segment.style else base)
            for segment in text.render(self.app.console)
            if segment.text and segment.text != "\n"
        ]
        return Strip(segments).crop(0, width).adjust_cell_length(width, base)
