"""One placement, animated: the piece appears at the spawn, turns, slides, drops, locks.

Pure functions of time over a ``SpectatorPlacement`` (no Textual here), so they
are easy to test and cost nothing when no frame is drawn. Shapes for the
turns are the landed cells turned back, one quarter at a time, about their
bounding box: that is how the piece looks on screen, which is all a viewer needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tetris_tui.protocol import BOARD_COLS, SpectatorPlacement
from tetris_tui.rules.board import board_height, clear_rows, lock

# Phases, as fractions of a placement's time: turn at the spawn, slide, drop, lock.
TURN_END = 0.2
SLIDE_END = 0.35
DROP_END = 0.8
# Cleared rows blink this often (seconds per half period).
FLASH_PERIOD = 0.08
# Below this much time a placement is not animated: its result is drawn at once.
MIN_ANIMATED = 0.06

Cells = tuple[tuple[int, int], ...]


def _shape(cells: tuple[int, ...]) -> tuple[Cells, int, int]:
    """(row, col) offsets from the bounding box's corner, its top row and left column."""
    pairs = list(zip(cells[0::2], cells[1::2], strict=True))
    top = min(r for r, _ in pairs)
    left = min(c for _, c in pairs)
    return tuple((r - top, c - left) for r, c in pairs), top, left


def _turn_back(shape: Cells) -> Cells:
    """The shape a quarter turn clockwise (undoing one of the engine's rot90)."""
    height = max(r for r, _ in shape) + 1
    return tuple((c, height - 1 - r) for r, c in shape)


def _width(shape: Cells) -> int:
    return max(c for _, c in shape) + 1


@dataclass
class PlacementAnimation:
    """Frames of one placement over ``duration`` seconds."""

    event: SpectatorPlacement
    duration: float
    shapes: list[Cells] = field(init=False)  # spawn rotation first, landed rotation last
    top: int = field(init=False)
    left: int = field(init=False)
    locked: bytes = field(init=False)
    full_rows: tuple[int, ...] = field(init=False)
    after: bytes = field(init=False)

    def __post_init__(self) -> None:
        shape, self.top, self.left = _shape(self.event.cells)
        shapes = [shape]
        for _ in range(max(0, self.event.rotation)):
            shapes.append(_turn_back(shapes[-1]))
        self.shapes = shapes[::-1]
        self.locked, self.full_rows = lock(self.event.board, self.event.cells, self.event.piece)
        self.after = clear_rows(self.locked, self.full_rows)

    @property
    def animated(self) -> bool:
        return self.duration >= MIN_ANIMATED

    def falling_at(self, t: float) -> tuple[int, int, Cells] | None:
        """Top row, left column and shape of the falling piece at ``t``; None once locked."""
        if not self.animated:
            return None
        f = t / self.duration
        if f >= DROP_END:
            return None
        if f < TURN_END:
            k = min(len(self.shapes) - 1, int(f / TURN_END * len(self.shapes)))
            shape = self.shapes[k]
            return 0, (BOARD_COLS - _width(shape)) // 2, shape
        shape = self.shapes[-1]
        spawn_left = (BOARD_COLS - _width(shape)) // 2
        if f < SLIDE_END:
            part = (f - TURN_END) / (SLIDE_END - TURN_END)
            return 0, round(spawn_left + (self.left - spawn_left) * part), shape
        part = (f - SLIDE_END) / (DROP_END - SLIDE_END)
        return round(self.top * part), self.left, shape

    def frame_at(self, t: float) -> tuple[bytes, bytes | None]:
        """Cells and highlight to draw at ``t`` seconds into the placement."""
        falling = self.falling_at(t)
        if falling is not None:
            top, left, shape = falling
            cells = bytearray(self.event.board)
            marks = bytearray(len(cells))
            rows = board_height(self.event.board)
            for r, c in shape:
                row, col = top + r, left + c
                if 0 <= row < rows and 0 <= col < BOARD_COLS:
                    cells[row * BOARD_COLS + col] = self.event.piece
                    marks[row * BOARD_COLS + col] = 1
            return bytes(cells), bytes(marks)
        if self.full_rows and self.animated and t < self.duration:
            if int((t - DROP_END * self.duration) / FLASH_PERIOD) % 2 == 0:
                marks = bytearray(len(self.locked))
                for row in self.full_rows:
                    marks[row * BOARD_COLS : (row + 1) * BOARD_COLS] = b"\x01" * BOARD_COLS
                return self.locked, bytes(marks)
            cells = bytearray(self.locked)
            for row in self.full_rows:
                cells[row * BOARD_COLS : (row + 1) * BOARD_COLS] = bytes(BOARD_COLS)
            return bytes(cells), None
        return self.final()

    def final(self) -> tuple[bytes, bytes | None]:
        """The board after the placement, the landed piece lit when no line went."""
        if self.full_rows:
            return self.after, None
        marks = bytearray(len(self.after))
        cells = self.event.cells
        for r, c in zip(cells[0::2], cells[1::2], strict=True):
            marks[r * BOARD_COLS + c] = 1
        return self.after, bytes(marks)
