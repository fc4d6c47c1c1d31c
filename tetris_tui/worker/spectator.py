"""The spectator: the newest policy plays its own greedy game at a watchable pace.

It runs in its own small process, spawned by the training worker, so it never
takes the worker's GIL: training runs at full speed beside it. The learner
publishes its weights into shared memory at every PPO update (``SharedWeights``);
the spectator loads the newest ones before each placement (a counter read when
nothing changed), so the board always shows the newest policy; it plays one
placement every ``1/pace`` seconds and puts small events on its own queue:
``SpectatorPlacement`` (dropped when that queue is full) and ``SpectatorGame``
(waits for room). The worker's callback forwards them to its event sink on its
20 ms control tick (a poll when there is nothing: microseconds), so the app
and every attached viewer get them like any other event. Its best game goes
to ``replays/best.json``.

It dies with the worker: the worker stops it on every way out, the kernel
kills it if the worker dies (``PR_SET_PDEATHSIG``), and it also checks its
parent pid between placements. Its output goes to the worker's log (inherited
fds 1 and 2), never to the terminal.

No lock is shared for stopping (``StopLine``): a multiprocessing Event set from
a SIGTERM handler while the spectator waited on it deadlocked both processes
(``kill -TERM -- -PGID``, issue 20). A stop is a shared byte plus one byte on a
pipe to wake on; a stop that is not obeyed in time is a terminate, then a kill.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import multiprocessing.connection
import os
import pickle
import queue
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tetris_tui.config import Config, EnvConfig
from tetris_tui.proctree import die_with_parent
from tetris_tui.protocol import (
    INSTANT,
    VIEW_ENV,
    VIEW_SPECTATOR,
    SpectatorGame,
    SpectatorPlacement,
)

# Events at most this often at the instant pace (the spectator then plays flat out).
MAX_EVENT_HZ = 60.0
# Sleeps: before the first weights, between placements (a stop ends them at
# once; a new pace applies from the next placement), and while the board shows
# something else. Few wake-ups: each costs a context switch on a busy core.
NAP = 0.05
MAX_NAP = 1.0
IDLE_NAP = 0.25
# Events the spectator may have waiting for the worker to forward.
OUTBOX_SIZE = 256
# The spectator's niceness: on a busy machine training gets the CPU first.
NICENESS = 5


def spectator_available(config: Config) -> bool:
    """The spectator animates placements: it needs the placement env."""
    return config.env.kind == "placement"


def env_frames_wanted(config: Config, view: str) -> bool:
    """Whether training's env 0 should send board frames for this view."""
    if config.fps <= 0 or not config.watch:
        return False
    return view == VIEW_ENV or (view == VIEW_SPECTATOR and not spectator_available(config))


@dataclass(frozen=True)
class SpectatorSetup:
    """What the spectator process is started with (pickled once, at spawn)."""

    env: EnvConfig
    policy_class: str  # "module:qualname": imported once the spectator runs at low priority
    policy_params: bytes  # the policy's constructor parameters, pickled
    run_dir: Path
    seed: int | None
    parent_pid: int


class StopLine:
    """The worker's stop request to its spectator; no lock on either side.

    A shared byte says "stop" (read between placements); one byte on a pipe wakes
    the spectator's sleep at once. Setting it never blocks: one small write, once.
    """

    def __init__(self, context: Any) -> None:
        self.flag = context.RawValue("b", 0)
        self.reader, self.writer = context.Pipe(duplex=False)

    def set(self) -> None:
        if self.flag.value:
            return
        self.flag.value = 1
        with contextlib.suppress(OSError, ValueError):
            self.writer.send_bytes(b"stop")

    def is_set(self) -> bool:
        return bool(self.flag.value)


class Spectator:
    """The worker's handle on its spectator process: start, feed weights, steer, stop."""

    def __init__(self, config: Config, policy: Any) -> None:
        from tetris_tui.worker.shared_weights import SharedWeights

        context = multiprocessing.get_context("spawn")
        self.weights = SharedWeights.for_policy(context, policy)
        self.pace = context.RawValue("d", float(config.pace))
        self.active = context.RawValue("b", int(config.view == VIEW_SPECTATOR))
        self.stop_line = StopLine(context)
        self.outbox = context.Queue(OUTBOX_SIZE)
        # Set by the spectator once it plays (and so may hold the events queue's lock).
        self.ready = context.RawValue("b", 0)
        self.placing = False  # whether a placement has been forwarded yet (worker side)
        setup = SpectatorSetup(
            env=config.env,
            policy_class=f"{type(policy).__module__}:{type(policy).__qualname__}",
            policy_params=pickle.dumps(policy._get_constructor_parameters()),
            run_dir=config.run_dir,
            seed=None if config.seed is None else config.seed + 7,
            parent_pid=os.getpid(),
        )
        self.process = context.Process(
            target=spectator_entry,
            args=(
                setup,
                self.outbox,
                self.weights,
                self.pace,
                self.active,
                self.stop_line,
                self.ready,
            ),
            name="tetris-tui-spectator",
            daemon=True,  # multiprocessing also ends it at the worker's exit
        )
        self.process.start()

    def publish(self, policy: Any, timesteps: int) -> None:
        self.weights.publish(policy, timesteps)

    def set_pace(self, pace: float) -> None:
        self.pace.value = max(0.0, float(pace))

    def set_view(self, view: str) -> None:
        self.active.value = int(view == VIEW_SPECTATOR)

    def forward(self, sink: Any, limit: int = OUTBOX_SIZE) -> None:
        """Send what the spectator has put out since the last call (worker side)."""
        outbox = self.outbox
        for _ in range(limit):
            try:
                event = outbox.get_nowait()
            except (queue.Empty, OSError, ValueError, EOFError):
                return
            self.placing = self.placing or isinstance(event, SpectatorPlacement)
            sink.send(event)

    def request_stop(self) -> None:
        """Ask it to end (it wakes at once); ``close`` waits for it. Never blocks."""
        self.stop_line.set()

    def close(self, timeout: float = 2.0) -> None:
        """Stop it and wait; terminate, then kill, if it does not go.

        Still starting (importing torch), it has never touched the events queue,
        so it is killed at once: nothing to wait for. Once it plays, a kill could
        leave the queue's shared lock held, so it gets ``timeout`` to end itself.
        """
        self.stop_line.set()
        if not self.ready.value:
            self.process.kill()
        self.process.join(timeout)
        for escalate in (self.process.terminate, self.process.kill):
            if self.process.exitcode is not None:
                break
            escalate()
            self.process.join(1.0)
        with contextlib.suppress(Exception):
            self.outbox.cancel_join_thread()
            self.outbox.close()


# -- the spectator process ----------------------------------------------------------


def spectator_entry(
    setup: SpectatorSetup,
    events: Any,
    weights: Any,
    pace: Any,
    active: Any,
    stop: Any,
    ready: Any,
) -> None:
    """Play greedy games with the newest weights until told to stop or orphaned."""
    die_with_parent()
    with contextlib.suppress(OSError):
        os.nice(NICENESS)  # a viewer: training comes first, even its imports
    from tetris_tui.worker.stop_signals import StopSignals

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker decides; a SIGTERM ends us
    signals = StopSignals((signal.SIGTERM,))
    import torch

    from tetris_tui.worker.best_replay import BestReplay
    from tetris_tui.worker.greedy_game import GreedyGame, policy_predictor

    torch.set_num_threads(1)
    torch.distributions.Distribution.set_default_validate_args(False)
    module, _, name = setup.policy_class.partition(":")
    policy_class = getattr(importlib.import_module(module), name)
    policy = policy_class(**pickle.loads(setup.policy_params))
    policy.set_training_mode(False)
    predict = policy_predictor(policy)
    best = BestReplay(setup.run_dir)
    loop = _Loop(setup, events, pace, stop, signals)
    ready.value = 1
    print(f"spectator (pid {os.getpid()}) ready", flush=True)  # worker.log
    seen = 0
    while seen == 0 and loop.running():
        seen = weights.load_into(policy, 0) or 0
        loop.nap(NAP)
    game = GreedyGame(setup.env, setup.seed)
    game.new_game(weights.timesteps.value)
    if loop.running():
        print(f"spectator (pid {os.getpid()}) plays", flush=True)  # worker.log
    try:
        while loop.running():
            if not active.value:
                loop.nap(IDLE_NAP)
                continue
            newer = weights.load_into(policy, seen)  # the newest weights, even mid-game
            if newer is not None:
                seen = newer
                game.policy_timesteps = weights.timesteps.value
            event = game.step(predict, pace.value)
            if event is not None:
                loop.send_placement(event)
            if game.finished is not None:
                record = game.finished
                best.offer(record)
                loop.send_game(game.finished_event())
                game.new_game()
            loop.wait_for_pace()
    finally:
        game.close()
        with contextlib.suppress(Exception):
            if not loop.running():
                events.cancel_join_thread()


class _Loop:
    """The spectator's pacing, its sending, and when to stop."""

    def __init__(
        self, setup: SpectatorSetup, events: Any, pace: Any, stop: StopLine, signals: Any
    ) -> None:
        self.setup = setup
        self.events = events
        self.pace = pace
        self.stop = stop
        self.signals = signals
        self.next_at = time.monotonic()
        self.next_event_at = 0.0

    def running(self) -> bool:
        return (
            not self.stop.is_set()
            and self.signals.caught is None
            and os.getppid() == self.setup.parent_pid
        )

    def nap(self, seconds: float) -> None:
        """Sleep, ended at once by a stop from the worker or a SIGTERM."""
        multiprocessing.connection.wait([self.stop.reader, self.signals.fd], seconds)

    def wait_for_pace(self) -> None:
        """Sleep until the next placement is due; no burst to catch up after a stall."""
        while self.running():
            pace = self.pace.value
            now = time.monotonic()
            if pace <= INSTANT:
                self.next_at = now
                return
            due = self.next_at + 1.0 / pace
            if now >= due:
                self.next_at = due if now - due < 1.0 / pace else now
                return
            # One wake-up per placement (the stop flag still ends the wait at once).
            self.nap(min(MAX_NAP, due - now))

    def send_placement(self, event: SpectatorPlacement) -> None:
        now = time.monotonic()
        if self.pace.value <= INSTANT:
            if now < self.next_event_at:
                return
            self.next_event_at = now + 1.0 / MAX_EVENT_HZ
        with contextlib.suppress(queue.Full, ValueError, OSError):
            self.events.put_nowait(event)

    def send_game(self, event: SpectatorGame) -> None:
        while self.running():
            try:
                self.events.put(event, timeout=0.25)
                return
            except queue.Full:
                continue
            except (ValueError, OSError):
                return
