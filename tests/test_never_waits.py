"""Training never waits for a reader: the outbox, the event sink and the read-back seam.

The parts on their own, fast; ``test_stalled_reader.py`` has the real worker
with a reader stopped for five minutes.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time

from tetris_tui.protocol import (
    PROTOCOL_VERSION,
    Board,
    Checkpoint,
    Episode,
    Error,
    Evaluation,
    Hello,
    Info,
    Metrics,
    Resync,
    Status,
)
from tetris_tui.runs.runlog import RunLog
from tetris_tui.worker.outbox import KEEP_PER_KIND, Outbox
from tetris_tui.worker.reporter import EventSink


def _game(number: int) -> Episode:
    return Episode(
        episode=number,
        lines=number % 7,
        reward=1.0,
        pieces=10,
        length=10,
        timesteps=10 * number,
        time=float(number),
        duration_s=0.1,
        env_index=0,
    )


def _metrics(step: int) -> Metrics:
    return Metrics(timesteps=step, steps_per_sec=1.0, episodes=step, elapsed_s=1.0)


def _flat(items: list) -> list:
    return [e for item in items for e in (item if isinstance(item, list) else [item])]


def test_an_overflow_drops_only_games_and_keeps_the_rest_in_order():
    """The old outbox cleared status, checkpoints, evaluations and errors too."""
    outbox = Outbox(limit=10)
    evaluation = Evaluation(timesteps=200, games=5, lines_mean=1.0, lines_max=2.0)
    outbox.offer(Status("running", 0))
    outbox.offer(Checkpoint("latest", "latest", 100))
    outbox.offer([_game(1), _game(2)])
    outbox.offer(Error("boom"))
    outbox.offer(Status("paused", 150))
    outbox.offer(evaluation)
    outbox.offer(_metrics(300))  # latest-wins, not queued
    for number in range(3, 19):  # two overflows: at games 6 and 13
        outbox.offer([_game(number)])
    outbox.offer(Status("stopped", 400, "stopped"))
    items = outbox.take(timeout=0)
    assert items[0] == Resync()
    assert outbox.dropped >= 10
    kept = [e for e in items[1:] if not isinstance(e, list)]
    assert kept == [
        Checkpoint("latest", "latest", 100),
        Error("boom"),
        Status("paused", 150),  # the older status gave way to the newer one
        evaluation,
        Status("stopped", 400, "stopped"),
        _metrics(300),
    ]
    games = [e.episode for item in items if isinstance(item, list) for e in item]
    assert games == [14, 15, 16, 17, 18]  # the ones offered after the last drop
    assert len(outbox) == 0


def test_kept_events_are_bounded_per_kind_but_errors_never_drop():
    outbox = Outbox(limit=5)
    for i in range(200):
        outbox.offer(Info(f"note {i}"))
        outbox.offer(Error(f"error {i}"))
        outbox.offer([_game(i)])
    assert len(outbox) <= KEEP_PER_KIND + 200 + 5
    items = outbox.take(timeout=0)
    notes = [e.text for e in items if isinstance(e, Info)]
    errors = [e.message for e in items if isinstance(e, Error)]
    assert errors == [f"error {i}" for i in range(200)]
    assert len(notes) <= KEEP_PER_KIND + 5 and notes[-1] == "note 199"


def test_hand_over_stops_at_a_full_queue_and_keeps_the_rest():
    outbox = Outbox(limit=100)
    for number in range(1, 6):
        outbox.offer([_game(number)])
    outbox.offer(Board(cells=bytes(200), timesteps=1))
    target: queue.Queue = queue.Queue(maxsize=3)
    assert not outbox.hand_over(target.put_nowait, queue.Full)
    assert [target.get_nowait() for _ in range(3)] == [[_game(1)], [_game(2)], [_game(3)]]
    assert len(outbox) == 3
    assert outbox.hand_over(target.put_nowait, queue.Full)  # the rest fits now
    board = Board(cells=bytes(200), timesteps=1)
    assert [target.get_nowait() for _ in range(3)] == [[_game(4)], [_game(5)], board]
    assert len(outbox) == 0


def test_a_sink_never_waits_for_a_queue_nobody_reads(tmp_path, monkeypatch):
    """The old sink waited for room while the parent lived: training stopped."""
    monkeypatch.setenv("TETRIS_TUI_FAULT", "outbox-limit:50")
    context = multiprocessing.get_context("spawn")
    events = context.Queue(maxsize=8)
    sink = EventSink(events, RunLog(tmp_path), threading.Event(), batch_games=True)
    started = time.monotonic()
    sink.send(Status("running", 0))
    for number in range(1, 5001):
        sink.send(_game(number))
        if number % 10 == 0:
            sink.flush()
            sink.send(_metrics(number))
        if number == 2500:
            sink.send(Error("a crash the reader must see"))
    sink.send(Status("stopped", 50_000, "stopped"))
    assert time.monotonic() - started < 10  # it would block forever on the 9th item
    assert sink.dropped > 0 and len(sink.outbox) <= 50 + 2 * KEEP_PER_KIND
    received: list = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            received.append(events.get(timeout=0.2))
        except queue.Empty:
            if sink.pump() and not _still_sending(events):
                break
    flat = _flat(received)
    assert Resync() in flat
    assert Error("a crash the reader must see") in flat
    assert flat[-2:] == [Status("stopped", 50_000, "stopped"), _metrics(5000)]
    numbers = [e.episode for e in flat if isinstance(e, Episode)]
    assert numbers == sorted(numbers) and numbers[0] == 1 and len(numbers) < 5000
    sink.close(timeout=1)


def _still_sending(events: object) -> bool:
    return events.qsize() > 0  # type: ignore[attr-defined]


def test_close_gives_a_reader_that_does_not_read_a_bounded_time(tmp_path):
    context = multiprocessing.get_context("spawn")
    events = context.Queue(maxsize=2)
    sink = EventSink(events, None, threading.Event())
    for number in range(1, 20):
        sink.send(_game(number))
    started = time.monotonic()
    sink.close(timeout=1.0)
    assert time.monotonic() - started < 5
    assert events._joincancelled  # exit will not wait on the feeder thread


# -- the spawned session's side: games read back after a Resync -------------------------


def _session_reading(run_dir, items):
    from tetris_tui.session.history import GameSeam, last_game_number
    from tetris_tui.session.spawned import TrainingSession

    session = TrainingSession()
    session._events = queue.Queue()  # the worker's queue, without a worker
    session._ended = True
    session._intake.seam = GameSeam(run_dir, last_game_number(run_dir))
    for item in items:
        session._events.put(item)
    return session


def test_a_resync_reads_the_dropped_games_back_once_each(tmp_path):
    log = RunLog(tmp_path)
    log.append_many([_game(n) for n in range(1, 4)])  # a previous session's games
    baseline = 3
    log.append_many([_game(n) for n in range(4, 13)])  # this session's, all recorded
    log.close()
    hello = Hello(PROTOCOL_VERSION, 1, "train")
    session = _session_reading(tmp_path, [])
    session._intake.seam.last_game = baseline
    for item in (hello, [_game(4), _game(5)], Resync(), [_game(9), _game(10)], [_game(12)]):
        session._events.put(item)
    events = session.drain(max_items=1000)
    numbers = [e.episode for e in events if isinstance(e, Episode)]
    assert numbers == list(range(4, 13))  # no gap, no repeat, nothing from before
    assert session.resyncs == 1


def test_a_spawned_session_starts_after_the_recorded_games(tmp_path):
    log = RunLog(tmp_path)
    log.append_many([_game(n) for n in range(1, 8)])
    log.close()
    session = _session_reading(tmp_path, [Hello(PROTOCOL_VERSION, 1, "train"), Resync()])
    assert [e for e in session.drain() if isinstance(e, Episode)] == []


def test_a_clean_exit_whose_last_words_were_not_read_ends_as_recorded(tmp_path):
    """The worker gave up on a reader that did not read; its end is in events.jsonl."""
    from tetris_tui.session.history import GameSeam
    from tetris_tui.session.spawned import TrainingSession

    log = RunLog(tmp_path)
    log.append(Status("running", 10))
    log.append(Status("stopped", 99, "stopped"))
    log.close()
    session = TrainingSession()
    session._intake.seam = GameSeam(tmp_path)
    session.exitcode = 0
    assert session._recorded_end() == Status("stopped", 99, "stopped")
    session.exitcode = -9
    assert session._recorded_end() is None
