"""How each piece kind looks: its colour and its glyph pair (so the board reads
in NO_COLOR / monochrome terminals too), and its preview shape."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.color import Color

# kind -> (glyph pair, base colour). Glyphs differ per kind for NO_COLOR.
PIECES: dict[int, tuple[str, str]] = {
    2: ("██", "#1fc8e0"),  # I cyan
    3: ("▓▓", "#f0d22c"),  # O yellow
    4: ("▒▒", "#a64ee6"),  # T purple
    5: ("░░", "#46c24a"),  # S green
    6: ("▚▚", "#e8443c"),  # Z red
    7: ("▞▞", "#3f6ff0"),  # J blue
    8: ("▐▌", "#f48a1e"),  # L orange
}
UNKNOWN_PIECE = ("╳╳", "#8a8a8a")

# Preview shapes (spawn orientation) for the next / hold boxes.
SHAPES: dict[int, tuple[str, str]] = {
    2: ("    ", "XXXX"),
    3: (" XX ", " XX "),
    4: (" X  ", "XXX "),
    5: (" XX ", "XX  "),
    6: ("XX  ", " XX "),
    7: ("X   ", "XXX "),
    8: ("  X ", "XXX "),
}


def _piece_styles(kind: int) -> tuple[str, Style, Style]:
    """Glyph, normal style and highlight style for one kind."""
    glyph, base = PIECES.get(kind, UNKNOWN_PIECE)
    colour = Color.parse(base)
    light = colour.blend(Color(255, 255, 255), 0.35)
    normal = Style(color=light.rich_color, bgcolor=colour.rich_color)
    bright = colour.blend(Color(255, 255, 255), 0.55)
    highlight = Style(color="#ffffff", bgcolor=bright.rich_color, bold=True)
    return glyph, normal, highlight


_STYLES = {kind: _piece_styles(kind) for kind in (*PIECES, -1)}


def piece_cell(kind: int, highlight: bool = False, width: int = 2) -> Segment:
    """One cell of a piece as a Segment (``width`` characters)."""
    glyph, normal, bright = _STYLES.get(kind, _STYLES[-1])
    text = (glyph * width)[:width] if width != 2 else glyph
    return Segment(text, bright if highlight else normal)
