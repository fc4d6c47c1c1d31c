"""Typed Textual messages for what a trainer reports, and the batch -> messages step.

The app's drain turns each batch of protocol events into these and posts them
to the main screen; the screen and its widgets handle the view ones, and the
control ones (status, checkpoints, notices, errors) bubble on to the app.
Board frames and metrics are latest-wins (``can_replace``): a UI that falls
behind skips to the newest, it never queues stale ones.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.message import Message

from tetris_tui import protocol as p


class FrameArrived(Message):
    """A training env's board frame."""

    def __init__(self, frame: p.Board) -> None:
        super().__init__()
        self.frame = frame

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, FrameArrived)


class MetricsArrived(Message):
    """A tick of learning figures. It replaces an older tick still waiting, unless that
    one carries a PPO update's figures (they come once per update, never again)."""

    def __init__(self, metrics: p.Metrics) -> None:
        super().__init__()
        self.metrics = metrics

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, MetricsArrived) and not message.metrics.train


class GamesArrived(Message):
    """Finished training games, in order; never dropped."""

    def __init__(self, games: list[p.Episode]) -> None:
        super().__init__()
        self.games = games


class SpectatorArrived(Message):
    """The spectator's placements and game ends, in order (the board animates them)."""

    def __init__(self, events: list[p.Event]) -> None:
        super().__init__()
        self.events = events


class EvaluationArrived(Message):
    def __init__(self, evaluation: p.Evaluation) -> None:
        super().__init__()
        self.evaluation = evaluation


class StatusArrived(Message):
    def __init__(self, status: p.Status) -> None:
        super().__init__()
        self.status = status


class CheckpointArrived(Message):
    def __init__(self, checkpoint: p.Checkpoint) -> None:
        super().__init__()
        self.checkpoint = checkpoint


class NoticeArrived(Message):
    """An info or warning line from the trainer, for a toast."""

    def __init__(self, text: str, severity: str = "information") -> None:
        super().__init__()
        self.text = text
        self.severity = severity


class ErrorArrived(Message):
    def __init__(self, error: p.Error) -> None:
        super().__init__()
        self.error = error


class RunFigures(Message):
    """From the main screen up to the app: the run's latest figures (timesteps,
    steps/s, elapsed), coalesced to the panels' repaint rate."""

    def __init__(self, **changes: object) -> None:
        super().__init__()
        self.changes = changes


class SystemArrived(Message):
    """The trainer's CPU, memory and GPU figures (at most one a second; the newest wins)."""

    def __init__(self, system: p.System) -> None:
        super().__init__()
        self.system = system

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SystemArrived)


class BatchDrained(Message):
    """The end of one drained batch: panels held back by their rate may repaint now."""

    def __init__(self, with_frame: bool) -> None:
        super().__init__()
        self.with_frame = with_frame


_SPECTATOR = (p.SpectatorPlacement, p.SpectatorGame)


def messages_for(batch: Iterable[p.Event]) -> list[Message]:
    """One drained batch as messages, in order: runs of games and of spectator
    events become one message each, and only the batch's last frame is kept."""
    out: list[Message] = []
    frame: p.Board | None = None
    for event in batch:
        if isinstance(event, p.Board):
            frame = event
        elif isinstance(event, p.Episode):
            if out and isinstance(out[-1], GamesArrived):
                out[-1].games.append(event)
            else:
                out.append(GamesArrived([event]))
        elif isinstance(event, _SPECTATOR):
            if out and isinstance(out[-1], SpectatorArrived):
                out[-1].events.append(event)
            else:
                out.append(SpectatorArrived([event]))
        elif isinstance(event, p.Metrics):
            out.append(MetricsArrived(event))
        elif isinstance(event, p.System):
            out.append(SystemArrived(event))
        elif isinstance(event, p.Evaluation):
            out.append(EvaluationArrived(event))
        elif isinstance(event, p.Status):
            out.append(StatusArrived(event))
        elif isinstance(event, p.Checkpoint):
            out.append(CheckpointArrived(event))
        elif isinstance(event, p.Warning):
            out.append(NoticeArrived(event.text, "warning"))
        elif isinstance(event, p.Info):
            out.append(NoticeArrived(event.text))
        elif isinstance(event, p.Error):
            out.append(ErrorArrived(event))
    if frame is not None:
        out.append(FrameArrived(frame))
    out.append(BatchDrained(with_frame=frame is not None))
    return out
