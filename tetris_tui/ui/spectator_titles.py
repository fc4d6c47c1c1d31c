"""The board's title and subtitle: which view, which game, and which weights play."""

from __future__ import annotations

from typing import Any

from tetris_tui import protocol as p
from tetris_tui.ui.widgets.series import fmt_int

TITLES = {p.VIEW_ENV: "training · env 0", p.VIEW_OFF: "board off"}


def board_titles(view: str, feed: Any, replay: Any = None) -> tuple[str, str]:
    """(border title, border subtitle) for the board."""
    if view != p.VIEW_SPECTATOR:
        return TITLES.get(view, "board"), "w: spectator" if view == p.VIEW_OFF else "w: off"
    shown = feed.shown
    if replay is not None:
        return (
            "replay · best game",
            f"{replay.lines:,} lines · policy @ {fmt_int(replay.policy_timesteps)}",
        )
    if shown is None:  # no spectator yet (starting, or the raw env): training's frames
        return "training · env 0", "no spectator yet"
    title = f"spectator · game {shown.game:,}"
    best = max(feed.best_lines, shown.best_lines)
    return title, f"policy @ {fmt_int(shown.policy_timesteps)} · best {best:,}"
