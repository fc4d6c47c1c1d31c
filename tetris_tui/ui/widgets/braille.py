"""A braille dot canvas with layers: 2x4 dots per cell, one colour per cell.

Plotext draws a chart by building an ANSI string that Textual then parses
back (``Text.from_ansi``) on every repaint; measured at 160x50 that cost
several times what this canvas does (bench/curve.py). Here dots go straight
into per-layer bit masks and each row comes out as ``(text, layer)`` runs,
ready for Strips. Where layers share a cell the dots merge and the
highest layer gives the colour, as in plotext. Free of Textual: unit-testable.
"""

from __future__ import annotations

from collections.abc import Sequence

BRAILLE = 0x2800
# Bit of the dot at (column, row) inside a cell, in Unicode's braille order.
_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))


class Canvas:
    """``width`` x ``height`` cells; dots are addressed from the bottom left."""

    def __init__(self, width: int, height: int, layers: int) -> None:
        self.width = max(0, width)
        self.height = max(0, height)
        self.dots_x = 2 * self.width
        self.dots_y = 4 * self.height
        self._masks = [bytearray(self.width * self.height) for _ in range(layers)]

    def dot(self, layer: int, x: int, y: int) -> None:
        """Set one dot; (0, 0) is the bottom left; outside the canvas is ignored."""
        if 0 <= x < self.dots_x and 0 <= y < self.dots_y:
            row = self.dots_y - 1 - y
            self._masks[layer][(row >> 2) * self.width + (x >> 1)] |= _BITS[row & 3][x & 1]

    def points(self, layer: int, xs: Sequence[int], ys: Sequence[int]) -> None:
        for x, y in zip(xs, ys, strict=True):
            self.dot(layer, x, y)

    def line(self, layer: int, xs: Sequence[int], ys: Sequence[int]) -> None:
        """A polyline through the points, with every dot between them set."""
        if len(xs) == 1:
            self.dot(layer, xs[0], ys[0])
        for x0, y0, x1, y1 in zip(xs, ys, xs[1:], ys[1:], strict=False):
            steps = max(abs(x1 - x0), abs(y1 - y0), 1)
            for step in range(steps + 1):
                self.dot(
                    layer,
                    x0 + (x1 - x0) * step // steps,
                    y0 + (y1 - y0) * step // steps,
                )

    def rows(self) -> list[list[tuple[str, int]]]:
        """Each row as runs of ``(text, layer)``; layer -1 is an empty run."""
        out = []
        masks = self._masks
        for row in range(self.height):
            start = row * self.width
            runs: list[tuple[str, int]] = []
            for cell in range(start, start + self.width):
                bits, top = 0, -1
                for layer, mask in enumerate(masks):
                    if mask[cell]:
                        bits |= mask[cell]
                        top = layer
                char = chr(BRAILLE + bits) if bits else " "
                if runs and runs[-1][1] == top:
                    runs[-1] = (runs[-1][0] + char, top)
                else:
                    runs.append((char, top))
            out.append(runs)
        return out


def scale(values: Sequence[float], low: float, high: float, dots: int) -> list[int]:
    """Map values in [low, high] to dot positions 0..dots-1."""
    if dots <= 0:
        return [0] * len(values)
    extent = (high - low) or 1.0
    top = dots - 1
    return [min(top, max(0, round((value - low) / extent * top))) for value in values]
