"""The real app in tmux as one side of ``bench/ui.py``: launched, trained, paused by keys.

``AppSide`` spawns its trainer as a user does (``s``); ``AttachedAppSide``
attaches to a detached trainer (``--headless --detach``, then ``attach``).
Both are driven through ``slices.Driver``; every trainer they start is tracked
by ``leftovers`` so that a killed bench never leaves one behind.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from leftovers import track
from tmux_app import Tmux, app_pid, board_view, screen_steps, wait_for

from tetris_tui.proctree import cpu_seconds, descendants, find_worker, pid_alive
from tetris_tui.runs.trainers import live_trainer


def app_command(args: argparse.Namespace, run_dir: Path) -> list[str]:
    return [
        sys.executable, "-m", "tetris_tui", "--checkpoints", str(run_dir),
        "--env", args.env, "--n-envs", str(args.n_envs), "--device", "cpu",
        "--seed", "1", "--total-timesteps", "50000000", "--checkpoint-every", "10000000",
    ]  # fmt: skip


def terminal_size(args: argparse.Namespace) -> tuple[int, int]:
    """``--size`` (``WxH``) as columns and rows."""
    width, height = (int(v) for v in args.size.lower().split("x"))
    return width, height


def interactive(screen: str) -> bool:
    """The first interactive frame: the footer's keys and the board are drawn."""
    return "quit" in screen and "board" in screen and "idle" in screen


def launch_times(args: argparse.Namespace, tmp: Path, launches: int) -> list[float]:
    """Seconds from launch to the first interactive frame, for fresh apps quit at once.

    One launch strays by about 0.2 s either way here (0.67-1.03 s in six), so
    the start-up figure is the median of several, not one.
    """
    times = []
    for index in range(launches):
        tmux = Tmux(*terminal_size(args))
        started = time.perf_counter()
        tmux.start(app_command(args, tmp / f"launch-{index}"))
        try:
            wait_for(tmux, interactive, 60, 0.01)
            times.append(time.perf_counter() - started)
            tmux.keys("q")
            with contextlib.suppress(TimeoutError):
                wait_for(tmux, lambda s: "idle" not in s, 10, 0.05)
        finally:
            tmux.kill()
    return times


class AppSide:
    """The real app in tmux: started, trained, paused and resumed by keys."""

    def __init__(self, args: argparse.Namespace, run_dir: Path) -> None:
        self._launch(args, app_command(args, run_dir), interactive)
        self.tmux.keys("s")
        wait_for(self.tmux, lambda s: "RUNNING" in s, 120, 0.05)
        track(self.worker)

    def _launch(
        self, args: argparse.Namespace, command: list[str], ready: Callable[[str], bool]
    ) -> None:
        """Start the app in its own tmux; ``startup_s`` is launch to ``ready``'s screen."""
        self.tmux = Tmux(*terminal_size(args))
        started = time.perf_counter()
        self.tmux.start(command)
        wait_for(self.tmux, ready, 60, 0.01)
        self.startup_s = time.perf_counter() - started
        self.pid = app_pid(self.tmux.pane_pid())

    @property
    def worker(self) -> int:
        return find_worker(self.pid)

    def toggle_pause(self) -> None:
        self.tmux.keys("p")

    resume = pause = toggle_pause

    def wait(self, seconds: float) -> None:
        time.sleep(seconds)  # the app drains its own queue

    def paused_steps(self) -> int:
        """The step count once PAUSED shows and the figure has stopped moving."""
        wait_for(self.tmux, lambda s: "PAUSED" in s, 30, 0.02)
        last = -1
        while (steps := screen_steps(self.tmux.screen())) != last:
            last = steps
            time.sleep(0.7)  # longer than a panel repaint (2 Hz)
        return steps

    def cpu_s(self) -> float:
        return cpu_seconds(self.pid) or 0.0

    def key_latencies(self, presses: int) -> list[float]:
        """Milliseconds from ``w`` to the board's title changing view, while training."""
        latencies = []
        for _ in range(presses):
            before = board_view(self.tmux.screen())
            t = time.perf_counter()
            self.tmux.keys("w")
            wait_for(self.tmux, lambda s, b=before: board_view(s) not in (b, None), 10)
            latencies.append((time.perf_counter() - t) * 1000)
            time.sleep(0.1)
        while board_view(self.tmux.screen()) != "spectator":
            self.tmux.keys("w")
            time.sleep(0.2)
        return sorted(latencies)

    def quit(self) -> None:
        tree = [self.pid, *descendants(self.pid)]
        self.tmux.keys("q")
        time.sleep(0.3)
        self.tmux.keys("x")  # q asks: x stops training and quits
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(pid_alive(p) for p in tree):
            time.sleep(0.1)
        self.tmux.kill()


class AttachedAppSide(AppSide):
    """The app attached to a detached trainer (``--headless --detach``, then ``attach``)."""

    def __init__(self, args: argparse.Namespace, run_dir: Path) -> None:
        detached = [*app_command(args, run_dir), "--headless", "--detach"]
        subprocess.run(detached, check=True, capture_output=True)
        self.run_dir = run_dir
        attach = [sys.executable, "-m", "tetris_tui", "attach", "--checkpoints", str(run_dir)]
        self._launch(args, attach, lambda s: "quit" in s and "RUNNING" in s)
        track(self.worker)

    @property
    def worker(self) -> int:
        card = live_trainer(self.run_dir)
        assert card is not None, "the detached trainer is gone"
        return card.pid

    def quit(self) -> None:
        trainer = self.worker
        super().quit()
        deadline = time.monotonic() + 60
        while pid_alive(trainer) and time.monotonic() < deadline:
            time.sleep(0.1)
