"""Two trainings compared in SIGSTOP slices: the method behind ``bench/ui.py``'s ratio.

Both workers share one core and never train at once: the bench freezes them
(SIGSTOP) and lets them run in turn, in short slices ordered ABBA, so the
machine's drift (a fixed loop's speed swings 10-16% from one half-second to
the next on these VMs) hits both alike. Each round starts and ends with both
paused, when the step counts are exact. A side is driven through a
``Driver``: the app by keys, a headless session by commands.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import time
from pathlib import Path
from typing import Protocol

from cores import pick_shared_core, pin_tree

from tetris_tui.config import Config, EnvConfig
from tetris_tui.proctree import cpu_seconds, descendants
from tetris_tui.protocol import VIEW_OFF, VIEW_SPECTATOR, Metrics, Pause, Resume, SetView, Status
from tetris_tui.session.spawned import TrainingSession


class HeadlessSide:
    """The same config with nothing but a 20 Hz drain attached."""

    def __init__(self, args: argparse.Namespace, run_dir: Path, view: str = "spectator") -> None:
        self.session = TrainingSession()
        self.session.start(
            Config(
                total_timesteps=50_000_000,
                n_envs=args.n_envs,
                run_dir=run_dir,
                checkpoint_every=10_000_000,
                seed=1,
                device="cpu",
                env=EnvConfig(kind=args.env),
                view=view,
            )
        )
        self.state = ""
        self.timesteps = 0
        while self.state != "running":
            self.pump(0.1)

    def pump(self, seconds: float) -> None:
        end = time.perf_counter() + seconds
        while True:
            for event in self.session.drain(1000):
                if isinstance(event, Metrics):
                    self.timesteps = event.timesteps
                elif isinstance(event, Status):
                    self.state = event.state
                    self.timesteps = max(self.timesteps, event.timesteps)
            if time.perf_counter() >= end:
                return
            time.sleep(0.05)

    @property
    def worker(self) -> int:
        return self.session.pid or 0

    def resume(self) -> None:
        self.session.send(Resume())

    def pause(self) -> None:
        self.session.send(Pause())

    def set_view(self, view: str) -> None:
        self.session.send(SetView(view))

    wait = pump

    def paused_steps(self) -> int:
        while self.state != "paused":
            self.pump(0.05)
        self.pump(0.6)  # a metrics tick after the pause carries the exact count
        return self.timesteps


class Driver(Protocol):
    """How the bench drives one side: the app by keys, a headless session by commands."""

    @property
    def worker(self) -> int: ...

    def resume(self) -> None: ...

    def pause(self) -> None: ...

    def wait(self, seconds: float) -> None: ...

    def paused_steps(self) -> int: ...


class Side:
    """One side's training time in the slices and the steps it made in them."""

    def __init__(self, name: str, driver: Driver, ui_pid: int | None) -> None:
        self.name = name
        self.driver = driver
        self.worker = driver.worker
        self.ui_pid = ui_pid  # the UI process, whose CPU is read in every slice
        self.run_s = 0.0
        self.steps = 0
        self.cpu_s = 0.0  # the worker's, all threads
        self.wait_s = 0.0  # its training thread's, runnable but another task had the core
        self.ui_cpu_s = 0.0  # the UI's, during this side's slices
        self.child_cpu_s = 0.0  # the worker's children's (its spectator), in its slices

    def sample(self) -> tuple[float, float, float, float]:
        """Worker CPU, run-queue wait of its training thread, UI CPU and the worker's
        children's CPU, in seconds."""
        with open(f"/proc/{self.worker}/schedstat") as handle:
            wait_ns = int(handle.read().split()[1])
        ui_cpu = (cpu_seconds(self.ui_pid) or 0.0) if self.ui_pid else 0.0
        children = sum(cpu_seconds(child) or 0.0 for child in descendants(self.worker))
        return cpu_seconds(self.worker) or 0.0, wait_ns / 1e9, ui_cpu, children

    @property
    def rate(self) -> float:
        return self.steps / self.run_s if self.run_s else 0.0

    def report(self) -> str:
        ui = f", UI CPU {100 * self.ui_cpu_s / self.run_s:.1f}%" if self.ui_pid else ""
        return (
            f"{self.name:>9}: {self.steps:,} steps in {self.run_s:.1f} s of slices "
            f"= {self.rate:.0f} steps/s; worker CPU {self.cpu_s:.1f} s, "
            f"waited for a core {self.wait_s:.2f} s, its children's CPU "
            f"{self.child_cpu_s:.2f} s{ui}"
        )


def signal_tree(pid: int, signum: int) -> None:
    """The worker and its children (the spectator) stop and go together: a spectator
    left running in the other side's slices would take that side's core."""
    for process in (pid, *descendants(pid)):
        try:
            os.kill(process, signum)
        except ProcessLookupError:
            pass


def run_slice(side: Side, seconds: float) -> None:
    """Let one stopped worker run for ``seconds``, then stop it again."""
    before = side.sample()
    started = time.perf_counter()
    signal_tree(side.worker, signal.SIGCONT)
    side.driver.wait(seconds)
    signal_tree(side.worker, signal.SIGSTOP)
    side.run_s += time.perf_counter() - started
    cpu, wait, ui_cpu, child_cpu = (b - a for a, b in zip(before, side.sample(), strict=True))
    side.cpu_s += cpu
    side.wait_s += wait
    side.ui_cpu_s += ui_cpu
    side.child_cpu_s += child_cpu


def one_round(first: Side, second: Side, args: argparse.Namespace) -> float:
    """``--blocks`` ABBA blocks of slices between two exact step counts; the round's ratio.

    Both sides start paused. Each worker is stopped (SIGSTOP) and told to
    resume; from then on it trains only inside its slices, so the two never
    train at once and each slice's wall time is all its own. At the end both
    are told to pause and let go, and the counts are read again.
    """
    sides = (first, second)
    steps = {side: side.driver.paused_steps() for side in sides}
    run_s = {side: side.run_s for side in sides}
    for side in sides:
        signal_tree(side.worker, signal.SIGSTOP)
        side.driver.resume()
    time.sleep(0.3)  # a key has reached the app, and its command the queue
    for index in range(4 * args.blocks):
        run_slice(first if index % 4 in (0, 3) else second, args.slice)
    for side in sides:
        side.driver.pause()
    time.sleep(0.3)
    for side in sides:
        signal_tree(side.worker, signal.SIGCONT)
    rates = []
    for side in sides:
        made = side.driver.paused_steps() - steps[side]
        side.steps += made
        rates.append(made / (side.run_s - run_s[side]))
    print(
        f"  round: {first.name} {rates[0]:.0f} steps/s, {second.name} {rates[1]:.0f} steps/s",
        flush=True,
    )
    return rates[0] / rates[1]


def pin_workers(workers: tuple[int, int], args: argparse.Namespace) -> None:
    """Both workers onto one core; their children (the spectators) too, or onto the
    other core with ``--spectator-core other`` (where the OS would run them)."""
    core = pick_shared_core(leave=False)
    if core is None:
        return
    other = min(os.sched_getaffinity(0) - {core})
    for worker in workers:
        pin_tree(worker, core)
        if args.spectator_core == "other":
            for child in descendants(worker):
                pin_tree(child, other)


def compare(first: Side, second: Side, args: argparse.Namespace) -> float:
    """Both sides on one core, ``--rounds`` rounds; the ratio of their rates.

    The workers never train at once, so they never compete for that core. The
    bench, the app and tmux stay free to run where the scheduler puts them, as
    they would for a user.
    """
    pin_workers((first.worker, second.worker), args)
    ratios = [one_round(first, second, args) for _ in range(args.rounds)]
    for side in (first, second):
        print(side.report())
    print(f"rounds' ratios: {', '.join(f'{r:.3f}' for r in ratios)}")
    return first.rate / second.rate


def warm_up(driver: Driver, seconds: float) -> float:
    """Train one side alone for a while, then pause it; its steps/s meanwhile."""
    before = driver.paused_steps()
    driver.resume()
    started = time.perf_counter()
    driver.wait(seconds)
    driver.pause()
    spent = time.perf_counter() - started
    return (driver.paused_steps() - before) / spent


def catch_up(first: Driver, second: Driver, rate: float) -> None:
    """Bring the side behind to the other's step count.

    Both train the same config and seed, and a step costs more as the agent
    improves, so the side ahead would be slower for that alone: before this,
    control runs (headless ÷ headless) read 0.986 to 0.993, the side that
    started first always the slower, and less so round by round.
    """
    for _ in range(3):
        steps = first.paused_steps(), second.paused_steps()
        print(f"steps before the slices: {steps[0]:,} and {steps[1]:,}", flush=True)
        gap = steps[0] - steps[1]
        if abs(gap) < 0.5 * rate:
            return
        warm_up(second if gap > 0 else first, abs(gap) / rate)


def level(first: HeadlessSide, second: HeadlessSide, args: argparse.Namespace) -> None:
    """Both headless sides paused, warmed up, and at the same step count."""
    for driver in (first, second):
        driver.pause()
        driver.paused_steps()
    rate = min(warm_up(driver, args.warmup) for driver in (first, second))
    catch_up(first, second, rate)


def control(args: argparse.Namespace, tmp: Path) -> float:
    """The same procedure with two headless sides: how far from 1.000 noise alone goes."""
    first = HeadlessSide(args, tmp / "a")
    second = HeadlessSide(args, tmp / "b")
    try:
        level(first, second, args)
        return compare(Side("headless", first, None), Side("headless2", second, None), args)
    finally:
        first.session.stop()
        second.session.stop()


def spectator_ratio(args: argparse.Namespace, tmp: Path) -> float:
    """Training steps/s with the spectator playing at its default pace ÷ with it off.

    Two headless sides of the same config and seed (their trainings are step for
    step the same), compared in the same interleaved slices, **crossed over**: in
    even rounds side A's spectator plays and B's idles (the view off), in odd
    rounds the other way round. One trainer process can run a few percent faster
    or slower than an identical one for its whole life (its memory layout), and
    before the crossover that bias was the run's result: four 3-round runs of the
    same code read 0.942, 0.999, 0.979 and 0.986, each run's rounds agreeing with
    each other. With each process on both sides, the bias cancels in the
    geometric mean of the rounds' on ÷ off.
    """
    first = HeadlessSide(args, tmp / "a", view=VIEW_SPECTATOR)
    second = HeadlessSide(args, tmp / "b", view=VIEW_OFF)
    try:
        level(first, second, args)
        pin_workers((first.worker, second.worker), args)
        drivers = first, second
        sides = Side("A", first, None), Side("B", second, None)
        ratios: list[float] = []  # on ÷ off, round by round
        for index in range(args.rounds + args.rounds % 2):  # an even count: both ways alike
            on = index % 2  # A plays in even rounds, B in odd ones
            drivers[on].set_view(VIEW_SPECTATOR)
            drivers[1 - on].set_view(VIEW_OFF)
            ratios.append(one_round(sides[on], sides[1 - on], args))  # its line names on first
        for side in sides:
            print(side.report())
        print(f"rounds' on ÷ off: {', '.join(f'{r:.3f}' for r in ratios)}")
        print(
            f"  A playing: {statistics.geometric_mean(ratios[0::2]):.3f}, "
            f"B playing: {statistics.geometric_mean(ratios[1::2]):.3f} "
            "(their gap is the two processes' own bias)"
        )
        return statistics.geometric_mean(ratios)
    finally:
        first.session.stop()
        second.session.stop()
