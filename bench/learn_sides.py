"""The two kinds of side ``bench/overhead.py`` trains: bare ``learn()`` and the real worker.

Each runs in its own process so that the bench can pin and freeze it; each
reports ``Side``: steps, wall seconds and CPU seconds of its ``learn()``.
"""

from __future__ import annotations

import contextlib
import queue
import time
from typing import Any

from tetris_tui.config import Config
from tetris_tui.protocol import TERMINAL_STATES, Metrics, Status
from tetris_tui.session.spawned import TrainingSession


def bare_learn(config: Config, result: Any) -> None:
    """model.learn() with a callback that only marks start and end, as SB3's own default."""
    from stable_baselines3.common.callbacks import BaseCallback

    from tetris_tui.worker.model_factory import build_vec_env, configure_torch, new_model

    class Marks(BaseCallback):
        def _on_training_start(self) -> None:
            self.started = (time.monotonic(), time.process_time())

        def _on_step(self) -> bool:
            return True

        def _on_training_end(self) -> None:
            wall, cpu = self.started
            self.spent = (time.monotonic() - wall, time.process_time() - cpu)

    configure_torch(config)  # as the worker does: same threads on both sides
    venv = build_vec_env(config)
    model = new_model(config, venv)
    marks = Marks()
    model.learn(config.total_timesteps, callback=marks)
    result.put((model.num_timesteps, *marks.spent))
    venv.close()


class Side:
    """Steps, wall seconds and CPU seconds of one side's ``learn()``."""

    def __init__(self, steps: int, wall_s: float, cpu_s: float) -> None:
        self.steps, self.wall_s, self.cpu_s = steps, wall_s, cpu_s

    @property
    def per_cpu_s(self) -> float:
        return self.steps / self.cpu_s

    @property
    def per_wall_s(self) -> float:
        return self.steps / self.wall_s


class SideDied(RuntimeError):
    """A side ended without its result (a signal, a crash): the round cannot be read."""


class BareRun:
    """``bare_learn`` in a spawned process: done once its result has come."""

    def __init__(self, context: Any, config: Config) -> None:
        self.results = context.Queue()
        self.process = context.Process(target=bare_learn, args=(config, self.results))
        self.process.start()
        self.pid: int = self.process.pid
        self.side: Side | None = None

    def poll(self) -> bool:
        """Whether its result has come; a side that died without one ends the bench."""
        if self.side is None:
            ended = self.process.exitcode  # read first: an ended side's result is in the pipe
            with contextlib.suppress(queue.Empty):
                self.side = Side(*self.results.get_nowait())
            if self.side is None and ended is not None:
                raise SideDied(f"the bare side (pid {self.pid}) ended with {ended}, no result")
        return self.side is not None

    def abandon(self) -> None:
        """The round is lost: end this side now."""
        self.process.kill()
        self.process.join()

    def finish(self) -> Side:
        self.process.join()
        assert self.side is not None, "the bare side sent no result"
        return self.side


class WorkerRun:
    """The real worker, drained by this process as the UI drains it."""

    def __init__(self, config: Config) -> None:
        self.session = TrainingSession()
        self.session.start(config)
        assert self.session.pid is not None
        self.pid: int = self.session.pid
        self.last: Metrics | None = None
        self.done = False

    def poll(self) -> bool:
        for event in self.session.drain(max_items=1000):
            if isinstance(event, Metrics):
                self.last = event
            if isinstance(event, Status) and event.state in TERMINAL_STATES:
                self.done = True
        return self.done

    def abandon(self) -> None:
        """The round is lost: end this side now (it saves, as every stop does)."""
        self.session.stop()

    def finish(self) -> Side:
        self.session.stop()
        last = self.last
        assert last is not None and last.cpu_s > 0, "the worker sent no metrics"
        return Side(last.timesteps, last.elapsed_s, last.cpu_s)
