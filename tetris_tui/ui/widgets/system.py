"""The system strip: the trainer's CPU, memory and threads, and each GPU, on one line.

It draws the last ``System`` event it was given, as measured in the trainer
(worker/system_probe.py), so an attached viewer shows the trainer's figures,
not its own. Events come at most once a second and the strip repaints only
when the line would change. Long labels where they fit; short ones, then
fewer GPUs, in 80 columns.
"""

from __future__ import annotations

from rich.text import Text

from tetris_tui.protocol import Gpu, System
from tetris_tui.ui.widgets.series import fmt_num
from tetris_tui.ui.widgets.textline import TextLine

WAITING = "waiting for the trainer's figures"
NO_TRAINER = "no trainer"


def fmt_bytes(value: int | None) -> str:
    """``812M``, ``1.2G``, ``3.4T`` (powers of 1,024, as top and htop count); ``–`` if unknown."""
    if value is None:
        return "–"
    number, unit = float(value), "B"
    for unit in ("B", "K", "M", "G", "T"):
        if number < 1024 or unit == "T":
            break
        number /= 1024
    if unit == "B":
        return f"{int(number)}B"
    return f"{number:.1f}{unit}" if number < 10 else f"{number:.0f}{unit}"


def fmt_percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}%"


def trainer_parts(event: System, short: bool) -> list[tuple[str, str]]:
    """(label, value) pairs for the trainer process."""
    return [
        ("cpu " if short else "trainer cpu ", fmt_percent(event.cpu_percent)),
        (" mem " if short else " rss ", fmt_bytes(event.rss_bytes)),
        (" thr " if short else " threads ", fmt_num(event.threads)),
    ]


def gpu_parts(gpu: Gpu, short: bool) -> list[tuple[str, str]]:
    """(label, value) pairs for one GPU: its load and memory, then the trainer's share."""
    memory = f"{fmt_bytes(gpu.memory_used)}/{fmt_bytes(gpu.memory_total)}"
    parts = [
        (
            f"gpu{gpu.index} " if short else f"GPU{gpu.index} {gpu.name} ",
            fmt_percent(gpu.util_percent),
        ),
        (" ", memory),
    ]
    if gpu.trainer_memory is not None or gpu.trainer_util is not None:
        share = fmt_bytes(gpu.trainer_memory)
        if gpu.trainer_util is not None:
            share += f" {fmt_percent(gpu.trainer_util)}"
        parts.append((" tr " if short else " trainer ", share))
    return parts


class SystemStrip(TextLine):
    """Draws the last ``System`` event (or why there is none); ``show(event)`` to update."""

    COMPONENT_CLASSES = {"system--label", "system--value", "system--sep"}
    DEFAULT_CSS = """
    SystemStrip { height: 1; background: $surface; padding: 0 1; }
    SystemStrip > .system--label { color: $text-muted; }
    SystemStrip > .system--value { text-style: bold; }
    SystemStrip > .system--sep { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.event: System | None = None
        self.note = NO_TRAINER
        self._line: str | None = None

    def show(self, event: System) -> None:
        """New figures from the trainer."""
        self.event = event
        self._changed()

    def clear(self, note: str) -> None:
        """No figures (no trainer yet, or it ended): say why instead."""
        self.event, self.note = None, note
        self._changed()

    def _changed(self) -> None:
        width = self.size.width or 80
        line = self.line_text_for(width).plain
        if line != self._line:
            self._line = line
            self.refresh()

    def line_text(self) -> Text:
        return self.line_text_for(self.size.width or 80)

    def line_text_for(self, width: int) -> Text:
        """The longest form that fits ``width``: long labels, short ones, then fewer GPUs."""
        event = self.event
        if event is None:
            return Text(self.note, style=self._style("label"), no_wrap=True)
        text = Text()
        for gpus in range(len(event.gpus), -1, -1):
            for short in (False, True):
                text = self._text(event, short, gpus)
                if text.cell_len <= width:
                    return text
        return text

    def _text(self, event: System, short: bool, shown: int) -> Text:
        label, value, sep = self._style("label"), self._style("value"), self._style("sep")
        text = Text(no_wrap=True, overflow="ellipsis")
        groups = [trainer_parts(event, short)]
        groups += [gpu_parts(gpu, short) for gpu in event.gpus[:shown]]
        for index, group in enumerate(groups):
            if index:
                text.append(" │ ", sep)
            for name, figure in group:
                text.append(name, label).append(figure, value)
        if not event.gpus:
            text.append(" │ ", sep).append(event.gpu_note or "no GPU", label)
        elif shown < len(event.gpus):
            text.append(f" │ +{len(event.gpus) - shown} GPU", label)
        return text

    def _style(self, name: str) -> str | object:
        if not self.is_mounted:
            return ""
        return self.get_component_rich_style(f"system--{name}")
