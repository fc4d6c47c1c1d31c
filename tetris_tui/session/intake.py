"""What a session passes on from its trainer or worker: checked, in order, once.

Both sessions read the same events (a queue for the spawned one, the trainer's
socket for an attached one) and must treat them alike: the first is a Hello in
our protocol or nothing after it is trusted, and games go through the seam
(``session/history.py``) so none is shown twice or lost at a ``Resync``.
"""

from __future__ import annotations

from collections.abc import Iterable

from tetris_tui.protocol import CRASHED, Error, Event, Status, protocol_mismatch
from tetris_tui.session.history import GameSeam


class EventIntake:
    """The protocol check and the game seam, shared by both sessions.

    It holds no reference back to its session (a callback would make a cycle,
    and a dropped session must be freed at once: its ``__del__`` stops its
    worker). The session reads ``refused_now`` and stops or hangs up itself.
    """

    def __init__(self, seam: GameSeam, peer: str) -> None:
        self.seam = seam
        self.peer = peer  # "worker" or "trainer", for the one line the user reads
        self.compatible: bool | None = None  # None until the first event
        self.refused_now = False  # True for the one batch that found another protocol

    def accept(self, events: Iterable[Event]) -> list[Event]:
        """What to pass on. A peer of another protocol is said once, as an error and
        a crashed status; what it sends after is dropped (it would be misread)."""
        passed: list[Event] = []
        self.refused_now = False
        for event in events:
            if self.compatible is None:
                line = protocol_mismatch(event, self.peer)
                self.compatible = line is None
                if line is not None:
                    self.refused_now = True
                    return [*passed, Error(line), Status(CRASHED, 0, line)]
            elif self.compatible is False:
                break
            passed += self.seam.accept(event)
        return passed


def state_after(events: Iterable[Event], state: str) -> str:
    """A session's state once it has read these events: the last Status's, if any."""
    for event in events:
        if isinstance(event, Status):
            state = event.state
    return state
