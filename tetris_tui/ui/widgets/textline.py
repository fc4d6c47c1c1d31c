"""A one-line widget drawn through the line API.

``Widget.render()`` sends a Text through Textual's Visual pipeline, which cost
a few milliseconds per repaint; the stats, the status bar and the PPO summary
repaint several times a second, so they build their one Strip directly.
"""

from __future__ import annotations

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
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
        return text_strip(self.line_text(), width, base, self.app.console)


def text_strip(text: Text, width: int, base: Style, console: Console) -> Strip:
    """One line of styled text as a Strip of exactly ``width`` cells, over ``base``."""
    text.truncate(width, overflow="ellipsis")
    segments = [
        Segment(segment.text, base + segment.style if segment.style else base)
        for segment in text.render(console)
        if segment.text and segment.text != "\n"
    ]
    return Strip(segments).crop(0, width).adjust_cell_length(width, base)
