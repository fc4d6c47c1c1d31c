"""The spectator's pacing on a clock of its own: exact, whatever the machine's load.

The real spectator (tests/test_spectator_live.py) runs at low priority, so on a
busy machine its measured rate says more about the scheduler than about the
pacing. Here ``_Loop.wait_for_pace`` runs alone with a fake clock: its sleeps
advance the clock by exactly what they ask, and each placement's work by what
the test says.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tetris_tui.protocol import INSTANT
from tetris_tui.worker import spectator


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(spectator, "time", SimpleNamespace(monotonic=clock.monotonic))
    return clock


def paced_loop(clock: Clock, pace: float) -> spectator._Loop:
    """A ``_Loop`` that runs until told, whose naps move the fake clock."""
    loop = spectator._Loop.__new__(spectator._Loop)
    loop.pace = SimpleNamespace(value=pace)
    loop.next_at = clock.now
    loop.next_event_at = 0.0
    loop.running = lambda: True  # type: ignore[method-assign]
    loop.nap = lambda seconds: setattr(clock, "now", clock.now + seconds)  # type: ignore[method-assign]
    return loop


def play(loop: spectator._Loop, clock: Clock, placements: int, work: float) -> list[float]:
    """When each placement starts: wait for the pace, then ``work`` seconds of CPU."""
    starts = []
    for _ in range(placements):
        loop.wait_for_pace()
        starts.append(clock.now)
        clock.now += work
    return starts


def test_placements_come_at_the_pace_whatever_each_one_costs(clock):
    loop = paced_loop(clock, 10.0)
    for work in (0.0, 0.002, 0.09):  # nothing, a typical placement, nearly the interval
        starts = play(loop, clock, 50, work)
        gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
        assert gaps == pytest.approx([0.1] * 49)


def test_a_new_pace_applies_from_the_next_placement(clock):
    loop = paced_loop(clock, 2.0)
    starts = play(loop, clock, 3, 0.001)
    loop.pace.value = 10.0
    starts += play(loop, clock, 3, 0.001)
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert gaps == pytest.approx([0.5, 0.5, 0.1, 0.1, 0.1])


def test_no_burst_to_catch_up_after_a_stall(clock):
    loop = paced_loop(clock, 10.0)
    play(loop, clock, 2, 0.0)
    clock.now += 3.0  # starved for 3 s (a loaded machine, a frozen process)
    stalled_until = clock.now
    starts = play(loop, clock, 4, 0.0)
    assert starts[0] == stalled_until
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert gaps == pytest.approx([0.1, 0.1, 0.1])  # at once, then at the pace again


def test_a_placement_late_by_less_than_an_interval_keeps_the_schedule(clock):
    loop = paced_loop(clock, 10.0)
    first = play(loop, clock, 1, 0.0)[0]
    clock.now += 0.13  # this placement took longer than the interval
    starts = play(loop, clock, 3, 0.0)
    assert starts == pytest.approx([first + 0.13, first + 0.2, first + 0.3])


def test_the_instant_pace_never_sleeps(clock):
    loop = paced_loop(clock, INSTANT)
    started = clock.now
    play(loop, clock, 100, 0.0)
    assert clock.now == started
