"""Games passed on to the app exactly once, in order, across a ``Resync``.

A trainer never waits for its reader: when the reader falls too far behind,
its games are dropped and it is told ``Resync``. Every game is in the run's
events.jsonl before it is offered to anyone, so the reader reads the missed
ones back from there. Games are numbered: any game at or below the last one
passed on is a repeat (read back, then still queued) and is dropped.

Both sessions use it: the spawned one (its queue) and ``AttachedSession``
(the trainer's socket).
"""

from __future__ import annotations

from pathlib import Path

from tetris_tui.protocol import Episode, Event, Resync
from tetris_tui.runs.runlog import games_after, recent_games


class GameSeam:
    """The last game passed on; what a ``Resync`` reads back. ``run_dir=None``: a
    source whose games are not recorded (a play worker): a Resync reads nothing."""

    def __init__(self, run_dir: Path | None, last_game: int = 0) -> None:
        self.run_dir = run_dir
        self.last_game = last_game
        self.resyncs = 0  # times the reader fell behind and read games back
        self.read_back = 0  # games read back from events.jsonl

    def shown_through(self, game: int) -> None:
        """The app showed games up to ``game`` from events.jsonl itself."""
        self.last_game = max(self.last_game, game)

    def accept(self, event: Event) -> list[Event]:
        """What to pass on for ``event``: itself, nothing (a repeat), or the missed games."""
        if isinstance(event, Resync):
            self.resyncs += 1
            if self.run_dir is None:
                return []
            games: list[Event] = list(games_after(self.run_dir, self.last_game))
            if games:
                self.last_game = games[-1].episode  # type: ignore[attr-defined]
            self.read_back += len(games)
            return games
        if isinstance(event, Episode) and self.run_dir is not None:
            if event.episode <= self.last_game:
                return []
            self.last_game = event.episode
        return [event]


def last_game_number(run_dir: Path) -> int:
    """The highest game number recorded in the run (0 for none): new games come after."""
    return recent_games(run_dir, 0).last_number
