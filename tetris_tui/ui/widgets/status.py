"""The one-line status bar: run directory, state, timesteps, speed, elapsed.

It lays itself out for the width it has: long labels when there is room, short
ones in 80 columns, and the least useful parts dropped first when even those do
not fit, so the state badge is always visible.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from rich.text import Text

from tetris_tui.ui.widgets.series import fmt_duration, fmt_int, fmt_num
from tetris_tui.ui.widgets.textline import TextLine

IDLE = "idle"

# state -> (badge icon, component class)
BADGES: dict[str, tuple[str, str]] = {
    IDLE: ("·", "status--muted"),
    "starting": ("…", "status--busy"),
    "running": ("▶", "status--running"),
    "paused": ("❚❚", "status--paused"),
    "stopping": ("…", "status--busy"),
    "stopped": ("■", "status--muted"),
    "finished": ("✔", "status--running"),
    "crashed": ("✖", "status--bad"),
}
LOUD_STATES = {"running", "paused", "crashed"}


@dataclass(frozen=True)
class StatusInfo:
    """Everything the status bar shows; the app replaces it, the bar draws it."""

    run_dir: str = ""
    state: str = IDLE
    timesteps: int = 0
    total_timesteps: int = 0
    steps_per_sec: float | None = None
    elapsed_s: float | None = None
    delay: float = 0.0
    watching: bool = True
    pace: float | None = None  # the spectator's placements/s (0 = instant); None: not shown
    latest_saved_at: float | None = None  # epoch seconds of the last save of ``latest``


def speed_label(delay: float, short: bool = False) -> str:
    """``max`` at zero delay, else the per-step delay in ms."""
    if delay <= 0:
        return "max" if short else "speed max"
    ms = f"{delay * 1000:.0f}ms"
    return ms if short else f"delay {ms}"


class StatusBar(TextLine):
    """Draws a ``StatusInfo``; call ``update_info`` with a new one."""

    COMPONENT_CLASSES = {
        "status--muted",
        "status--busy",
        "status--running",
        "status--paused",
        "status--bad",
        "status--sep",
        "status--value",
    }

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; }
    StatusBar > .status--muted { color: $text-muted; }
    StatusBar > .status--busy { color: $text-warning; text-style: bold; }
    StatusBar > .status--running { background: $success; color: $text; text-style: bold; }
    StatusBar > .status--paused { background: $warning; color: $text; text-style: bold; }
    StatusBar > .status--bad { background: $error; color: $text; text-style: bold; }
    StatusBar > .status--sep { color: $text-muted; }
    StatusBar > .status--value { text-style: bold; }
    """

    def __init__(self, info: StatusInfo | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.info = info or StatusInfo()

    def update_info(self, info: StatusInfo | None = None, **changes: object) -> None:
        """Replace the info (or some fields); redraws only when something changed."""
        new = info if info is not None else replace(self.info, **changes)  # type: ignore[arg-type]
        if new != self.info:
            self.info = new
            self.refresh()

    def _parts(self, short: bool) -> list[tuple[int, Text]]:
        """(priority, text) pairs in display order; lower priority is dropped first."""
        info = self.info
        value = self.get_component_rich_style("status--value")
        muted = self.get_component_rich_style("status--muted")
        icon, cls = BADGES.get(info.state, ("?", "status--muted"))
        label = info.state.upper() if info.state in LOUD_STATES else info.state
        badge = Text(f" {icon} {label} ", style=self.get_component_rich_style(cls))
        steps = Text.assemble((fmt_int(info.timesteps), value), (" st" if short else " steps"))
        if info.total_timesteps and not short:
            steps.append(f" / {fmt_num(info.total_timesteps)}", muted)
        rate = Text.assemble(
            (fmt_num(info.steps_per_sec) if info.steps_per_sec is not None else "–", value),
            ("/s" if short else " steps/s"),
        )
        elapsed = Text(fmt_duration(info.elapsed_s), style=value)
        speed = Text(speed_label(info.delay, short), style=value if info.delay else muted)
        if info.pace is not None:
            pace = "instant" if info.pace <= 0 else f"{info.pace:g}/s"
            speed = Text.assemble(("pace " if not short else "", muted), (pace, value))
            if info.delay:
                speed.append(f" · {speed_label(info.delay, short)}", muted)
        run = Text.assemble(("" if short else "run ", muted), (info.run_dir, value))
        parts = [
            (1, Text("tetris-tui", style="bold")),
            (3, run),
            (9, badge),
            (8, steps),
            (6, rate),
            (5, elapsed),
            (4, speed),
        ]
        if info.latest_saved_at is not None:
            clock = time.strftime("%H:%M:%S", time.localtime(info.latest_saved_at))
            parts.append((3, Text.assemble(("saved " if short else "latest saved ", muted), clock)))
        if not info.watching:
            busy = self.get_component_rich_style("status--busy")
            parts.append((7, Text("watch off", style=busy)))
        return parts

    def _fit(self, width: int) -> list[tuple[int, Text]]:
        """Long labels if they fit (the app name may go), else short labels minus extras."""

        def length(parts: list[tuple[int, Text]]) -> int:
            return sum(t.cell_len for _, t in parts) + 3 * (len(parts) - 1) + 1

        parts = self._parts(short=False)
        if length(parts) <= width:
            return parts
        parts = [p for p in parts if p[0] != 1]
        if length(parts) <= width:
            return parts
        parts = [p for p in self._parts(short=True) if p[0] != 1]
        while len(parts) > 1 and length(parts) > width:
            parts.remove(min(parts, key=lambda p: p[0]))
        return parts

    def line_text(self) -> Text:
        width = self.size.width or 80
        sep = Text(" │ ", style=self.get_component_rich_style("status--sep"))
        line = Text(" ", no_wrap=True, overflow="ellipsis")
        for index, (_, text) in enumerate(self._fit(width)):
            if index:
                line.append_text(sep)
            line.append_text(text)
        line.truncate(width, overflow="ellipsis")
        return line
