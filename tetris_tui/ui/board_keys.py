"""The app's board keys: ``w`` cycles the view, ``+``/``-`` the spectator's pace, ``r`` replays.

A mixin of ``TetrisApp`` (kept out of app.py, which routes everything else).
None of these keys touches training's speed: the pace goes to the spectator
process (``SetPace``), and ``--step-delay`` is the only way to slow training.
"""

from __future__ import annotations

from typing import Any

from tetris_tui import protocol as p
from tetris_tui.replay import ReplayError, load_replay, replay_path
from tetris_tui.ui.spectator_feed import PACES, step_pace


class BoardKeys:
    """``action_watch``, ``action_faster``, ``action_slower`` and ``action_replay``."""

    view: str
    pace: float
    session: Any
    main: Any
    config: Any

    def action_watch(self) -> None:
        """spectator -> training env 0 -> off -> spectator."""
        views = p.VIEWS
        self.view = views[(views.index(self.view) + 1) % len(views)]
        self.main.spectator.set_view(self.view)
        self.session.send(p.SetView(self.view))
        self._update_status()  # type: ignore[attr-defined]

    def _set_pace(self, pace: float) -> None:
        if pace != self.pace:
            self.pace = pace
            self.main.spectator.set_pace(pace)
            self.session.send(p.SetPace(pace))
            self._update_status()  # type: ignore[attr-defined]
            self.refresh_bindings()  # type: ignore[attr-defined]

    def action_faster(self) -> None:
        self._set_pace(step_pace(self.pace, faster=True))

    def action_slower(self) -> None:
        self._set_pace(step_pace(self.pace, faster=False))

    def pace_action_enabled(self, action: str) -> bool:
        if action == "faster":
            return self.pace > p.INSTANT
        return self.pace != min(v for v in PACES if v > p.INSTANT)

    def action_replay(self) -> None:
        """Replay the run's best game on the board; again to go back to the live view."""
        if self.main.feed.replay_mode:
            self.main.spectator.stop_replay()
            return
        try:
            game = load_replay(replay_path("best", self.config.run_dir))
        except ReplayError as exc:
            self.notify(str(exc), title="no replay", severity="warning", timeout=6)  # type: ignore[attr-defined]
            return
        if self.view != p.VIEW_SPECTATOR:
            while self.view != p.VIEW_SPECTATOR:
                self.action_watch()
        self.main.spectator.start_replay(game)
