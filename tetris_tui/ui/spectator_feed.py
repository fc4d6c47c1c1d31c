"""What the board shows of the spectator: its placements, animated one after another.

The feed queues the placement events the spectator sends at its pace and turns
them into board frames as time passes (``tick``). It never falls behind: with
more than a couple of placements waiting it skips to the newest, whose event
carries the whole board. A replay is fed the same way, pulled from the
recorded game at the chosen pace. No Textual here: the screen calls ``tick``
from a timer and draws what it returns.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from tetris_tui.protocol import (
    DEFAULT_PACE,
    INSTANT,
    Board,
    SpectatorGame,
    SpectatorPlacement,
)
from tetris_tui.ui.animation import PlacementAnimation

# The pace ladder of ``+`` / ``-`` (placements/s); INSTANT (0) is the last, fastest step.
PACES = (1.0, 2.0, 5.0, 10.0, 20.0, 60.0, INSTANT)
# Part of a placement's time its animation takes; the rest shows the result.
ANIMATED_SHARE = 0.9
# Placements a replay advances per tick at the instant pace.
INSTANT_REPLAY_STEP = 10
BACKLOG = 2


def pace_label(pace: float) -> str:
    return "instant" if pace <= INSTANT else f"{pace:g}/s"


def step_pace(pace: float, faster: bool) -> float:
    """The next pace up or down the ladder (a pace off the ladder snaps onto it)."""
    order = sorted(PACES, key=lambda v: float("inf") if v <= INSTANT else v)
    index = min(range(len(order)), key=lambda i: abs(_rank(order[i]) - _rank(pace)))
    index = max(0, min(len(order) - 1, index + (1 if faster else -1)))
    return order[index]


def _rank(pace: float) -> float:
    return 1e9 if pace <= INSTANT else pace


class SpectatorFeed:
    """Placement events in, board frames out, at the pace's rhythm."""

    def __init__(self, pace: float = DEFAULT_PACE) -> None:
        self.pace = pace
        self.pending: deque[SpectatorPlacement] = deque(maxlen=256)
        self.current: PlacementAnimation | None = None
        self.started = 0.0
        self.replay: Iterator[SpectatorPlacement] | None = None
        self.replay_mode = False
        self.last_game: SpectatorGame | None = None
        self.best_lines = 0
        self.placements_shown = 0  # animations begun (tests read it)
        self._drawn: tuple[bytes, bytes | None] | None = None

    # -- input -----------------------------------------------------------------------
    def add(self, event: SpectatorPlacement) -> None:
        if not self.replay_mode:
            self.pending.append(event)

    def game_over(self, event: SpectatorGame) -> None:
        self.last_game = event
        self.best_lines = max(self.best_lines, event.best_lines)

    def start_replay(self, events: Iterator[SpectatorPlacement]) -> None:
        """Show a recorded game; live placements are ignored until ``stop_replay``."""
        self.replay = events
        self.replay_mode = True
        self.pending.clear()
        self.current = None
        self._drawn = None

    def stop_replay(self) -> None:
        self.replay = None
        self.replay_mode = False
        self.current = None
        self._drawn = None

    @property
    def shown(self) -> SpectatorPlacement | None:
        return self.current.event if self.current is not None else None

    # -- output ----------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """Whether a tick may change the board (else the timer has nothing to do)."""
        return bool(self.pending) or self.replay is not None or self._animating

    @property
    def _animating(self) -> bool:
        return self.current is not None and self._drawn != self.current.final()

    def _duration(self) -> float:
        return 0.0 if self.pace <= INSTANT else ANIMATED_SHARE / self.pace

    def _next(self, now: float) -> bool:
        """Begin the next placement if the current one is over; True when one began."""
        interval = 1.0 / self.pace if self.pace > INSTANT else 0.0
        behind = self.replay is None and len(self.pending) > BACKLOG
        if self.current is not None and now - self.started < interval and not behind:
            return False
        event = None
        if self.replay is not None:
            for _ in range(INSTANT_REPLAY_STEP if self.pace <= INSTANT else 1):
                pulled = next(self.replay, None)
                if pulled is None:
                    self.replay = None  # over: its last board stays until the replay is left
                    break
                event = pulled
        elif self.pending and not self.replay_mode:
            if len(self.pending) > BACKLOG:
                # Behind: straight to the newest (each event carries its whole board).
                newest = self.pending[-1]
                self.pending.clear()
                self.pending.append(newest)
            event = self.pending.popleft()
        if event is None:
            return False
        self.current = PlacementAnimation(event, self._duration())
        self.started = now
        self.placements_shown += 1
        self.best_lines = max(self.best_lines, event.best_lines)
        return True

    def tick(self, now: float) -> Board | None:
        """The frame to draw now, or None when it would not change."""
        self._next(now)
        current = self.current
        if current is None:
            return None
        t = now - self.started
        cells, highlight = current.frame_at(t)
        if (cells, highlight) == self._drawn:
            return None
        self._drawn = (cells, highlight)
        event = current.event
        return Board(
            cells=cells,
            next_pieces=event.next_pieces,
            lines=event.lines - (event.lines_cleared if current.falling_at(t) else 0),
            pieces=event.pieces,
            highlight=highlight,
            timesteps=event.policy_timesteps,
        )
