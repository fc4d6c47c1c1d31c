"""The worker's reporting pieces on their own: batched games and the command channel."""

from __future__ import annotations

import json
import multiprocessing
import queue
import threading
import time

from tetris_tui.command_channel import CommandChannel
from tetris_tui.protocol import PROTOCOL_VERSION, Episode, Hello, Metrics, Pause, SetSpeed, Status
from tetris_tui.runs.runlog import EVENTS_FILE, RunLog
from tetris_tui.worker.reporter import EventSink


def _game(number: int) -> Episode:
    return Episode(
        episode=number,
        lines=number,
        reward=1.5,
        pieces=10,
        length=10,
        timesteps=100 * number,
        time=1.0,
        duration_s=0.1,
        env_index=0,
    )


def _items(q: queue.Queue) -> list:
    items = []
    while not q.empty():
        items.append(q.get_nowait())
    return items


def test_games_are_held_until_a_flush_and_sent_as_one_item(tmp_path):
    events: queue.Queue = queue.Queue()
    sink = EventSink(events, RunLog(tmp_path), threading.Event(), batch_games=True)
    for number in (1, 2, 3):
        sink.send(_game(number))
    assert _items(events) == []
    sink.flush()
    assert _items(events) == [[_game(1), _game(2), _game(3)]]
    sink.flush()  # nothing held: nothing sent
    assert _items(events) == []
    sink.close()
    lines = (tmp_path / EVENTS_FILE).read_text().splitlines()
    assert [json.loads(line)["episode"] for line in lines] == [1, 2, 3]


def test_any_other_event_sends_the_held_games_first(tmp_path):
    events: queue.Queue = queue.Queue()
    sink = EventSink(events, RunLog(tmp_path), threading.Event(), batch_games=True)
    sink.send(_game(1))
    metrics = Metrics(timesteps=100, steps_per_sec=1.0, episodes=1, elapsed_s=1.0)
    sink.send(metrics)
    sink.send(_game(2))
    sink.send(Status("stopped", 200))
    assert _items(events) == [[_game(1)], metrics, [_game(2)], Status("stopped", 200)]
    sink.close()
    kinds = [json.loads(x)["kind"] for x in (tmp_path / EVENTS_FILE).read_text().splitlines()]
    assert kinds == ["episode", "episode", "status"]


def test_close_sends_games_still_held(tmp_path):
    events: queue.Queue = queue.Queue()
    sink = EventSink(events, None, threading.Event(), batch_games=True)
    sink.send(_game(7))
    sink.close()
    assert _items(events) == [[_game(7)]]


def test_unbatched_sink_sends_each_game_at_once():
    events: queue.Queue = queue.Queue()
    sink = EventSink(events, None, threading.Event())
    sink.send(_game(1))
    assert _items(events) == [_game(1)]


def test_a_step_s_games_go_in_one_call_held_or_one_by_one():
    events: queue.Queue = queue.Queue()
    batched = EventSink(events, None, threading.Event(), batch_games=True)
    batched.send_games([_game(1), _game(2)])
    batched.send_games([_game(3)])
    assert _items(events) == []
    batched.flush()
    assert _items(events) == [[_game(1), _game(2), _game(3)]]
    unbatched = EventSink(events, None, threading.Event())
    unbatched.send_games([_game(4), _game(5)])
    assert _items(events) == [_game(4), _game(5)]


def test_command_channel_counts_what_is_on_its_way():
    channel = CommandChannel(multiprocessing.get_context("spawn"))
    assert not channel.pending() and channel.get() is None
    channel.put(Pause())
    channel.put(SetSpeed(0.5))
    assert channel.pending()
    deadline = time.monotonic() + 5
    received = []
    while channel.pending() and time.monotonic() < deadline:
        command = channel.get(timeout=0.1)
        if command is not None:
            received.append(command)
    assert received == [Pause(), SetSpeed(0.5)]
    assert not channel.pending() and channel.get() is None
    channel.close()


def test_session_drain_unpacks_batches_and_keeps_its_bound():
    from tetris_tui.session.spawned import TrainingSession

    session = TrainingSession()
    session._events = queue.Queue()  # the worker's queue, without a worker
    session._ended = True
    hello = Hello(PROTOCOL_VERSION, 1, "train")
    for item in (hello, Status("running", 0), [_game(1), _game(2), _game(3)], [_game(4)]):
        session._events.put(item)
    assert session.drain(max_items=2) == [hello, Status("running", 0)]
    assert session.state == "running"
    assert session.drain(max_items=2) == [_game(1), _game(2)]
    assert session.drain(max_items=2) == [_game(3), _game(4)]
    assert session.drain(max_items=2) == []


def test_alive_can_be_read_while_the_start_thread_reaps_the_last_worker():
    """CI caught the UI thread reading ``alive`` on a process object the start thread had closed."""
    from tetris_tui.session.spawned import TrainingSession

    session = TrainingSession()
    # slice(events, commands, stop_flag) is a picklable target that returns at once.
    session._spawn(slice, (), None)
    session._process.join(30)
    assert session._process.exitcode == 0
    reaping, release = threading.Event(), threading.Event()
    join_thread = session._events.join_thread

    def slow_join_thread() -> None:
        reaping.set()
        release.wait(10)
        join_thread()

    session._events.join_thread = slow_join_thread
    reaper = threading.Thread(target=session._reap)
    reaper.start()
    try:
        assert reaping.wait(10)
        assert session.alive is False and session.pid is None
    finally:
        release.set()
        reaper.join(10)


def test_env_frames_standing_in_for_the_spectator_come_at_most_twice_a_second() -> None:
    """Asked for (the env view), env 0's board comes at ``fps``; standing in, at 2 a second."""
    from types import SimpleNamespace

    from tetris_tui.config import Config, EnvConfig
    from tetris_tui.protocol import VIEW_ENV
    from tetris_tui.worker.board_frames import BoardFrames

    class Env:
        def env_method(self, name: str, indices: list[int]) -> list[dict]:
            return [{"cells": bytes(200)}]

    def frames_in_one_second(frames: BoardFrames) -> int:
        sent: list[object] = []
        sink = SimpleNamespace(send=sent.append)
        spectator = SimpleNamespace(placing=False)
        for tick in range(100):  # a 10 ms tick for one second
            frames.send_if_due(tick * 0.01, Env(), 0, sink, spectator)
        return len(sent)

    config = Config(env=EnvConfig(kind="placement"), fps=10.0)
    assert frames_in_one_second(BoardFrames(config)) == 2
    watched = BoardFrames(config)
    watched.set_view(VIEW_ENV)
    assert frames_in_one_second(watched) == 10
