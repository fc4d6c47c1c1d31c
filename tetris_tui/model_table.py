"""The models table, as text: shared by ``tetris-tui models`` and the models screen."""

from __future__ import annotations

import time

from tetris_tui.runs.checkpoints import CheckpointInfo

TABLE_HEADERS = ["model", "timesteps", "games", "best lines", "mean lines", "saved", "env"]

SORT_KEYS = {
    "name": lambda row: row.name,
    "timesteps": lambda row: -row.timesteps,
    "best": lambda row: -(row.best_lines or 0.0),
    "mean": lambda row: -(row.lines_mean or 0.0),
    "saved": lambda row: -(row.saved_at or 0.0),
}


def table_cells(row: CheckpointInfo) -> list[str]:
    """One row as text cells, in TABLE_HEADERS order."""
    saved = time.strftime("%Y-%m-%d %H:%M", time.localtime(row.saved_at)) if row.saved_at else "-"
    return [
        row.name,
        f"{row.timesteps:,}",
        f"{row.episodes:,}",
        _num(row.best_lines),
        _num(row.lines_mean),
        saved,
        row.env_kind if row.ok else f"damaged: {row.problem}",
    ]


def format_table(rows: list[CheckpointInfo]) -> str:
    """Aligned plain-text columns, easy to read and to pipe."""
    cells = [TABLE_HEADERS] + [table_cells(row) for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(TABLE_HEADERS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in cells
    )


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"
