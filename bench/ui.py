"""What the UI costs and how it feels: the real app in a real terminal (tmux).

Runs ``python -m tetris_tui`` in a private tmux server, and beside it a
headless ``TrainingSession`` (drained at 20 Hz) with the same config, and
measures from the outside:

- start -> first interactive frame (the footer and the board are drawn): the
  median of the measured app's launch and ``--launches`` more (one launch
  strays by about 0.2 s);
- training steps/s with the UI attached ÷ headless. Both workers are pinned
  to one core and never train at once: the bench freezes them (SIGSTOP) and
  lets them run in turn, in ``--slice``-second slices ordered ABBA, so the
  machine's drift hits both alike. (On these VMs a fixed loop's speed swings
  10-16% from one half-second to the next.) The UI draws in its own worker's
  slices and idles in the others'. Each round starts and ends with both
  paused, when the step counts are exact. Per side it also prints the worker's
  CPU seconds and how long its training thread waited for its core while
  another task had it, and the UI's CPU in each side's slices (any UI work
  that spills into the headless slices would flatter the ratio).
  ``--control`` runs the same procedure on two headless sides: how far from
  1.000 the ratio strays by noise alone.
- the UI process's CPU share (% of one core, from /proc/<pid>/stat) while its
  training runs alone at full speed, at the default rates (``--warmup`` s);
- key press -> screen change latency (``w`` toggles watching, which flips the
  "watch off" label; p50/p95 over ``--presses`` presses).

    python bench/ui.py [--env placement|raw] [--n-envs K] [--size 160x50]
                       [--rounds R] [--blocks N] [--slice SECONDS]
    python bench/ui.py --control
    python bench/ui.py --attached     # the app attached to a detached trainer
    python bench/ui.py --screenshot docs/screenshot-training.svg [--seconds 90] [--size 120x36]

- the spectator's cost: ``spectator_ratio`` = training steps/s with the
  spectator playing at its default pace ÷ with it off (two headless sides of
  the same config in the same interleaved slices; the spectator is stopped and
  continued with its worker). The sides cross over round by round (each
  process plays and idles in turn), which cancels a process's own lasting
  speed bias. ``--spectator-only`` measures just this; ``--spectator-core
  other`` puts the spectators on the other core instead of their workers'.

Last line: ``p95_ms=… cpu_pct=… startup_s=… ratio=… spectator_ratio=…``.

Killed (Ctrl+C, SIGTERM, a hang-up), it continues the trainers it froze, lets
each side stop, and kills whatever trainer, spectator or tmux server is left:
it never leaves a stopped (SIGSTOP) trainer behind. Only SIGKILL skips that.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import slices
from slices import HeadlessSide, Side, catch_up, compare, control, spectator_ratio, warm_up
from tmux_app import TMUX_SOCKETS, Tmux, app_pid, board_view, screen_steps, wait_for
from ui_screenshot import screenshot

from tetris_tui.proctree import cmdline, cpu_seconds, descendants, find_worker, pid_alive
from tetris_tui.runs.trainers import live_trainer

# What a killed bench must not leave behind: the trainers it started or froze
# (each with its spectator) and its private tmux servers.
_TRAINERS: set[int] = set()
_signal_tree = slices.signal_tree


def _tracked_signal_tree(pid: int, signum: int) -> None:
    """slices' ``signal_tree``, noting each trainer it stops (a set add: no cost in a slice)."""
    _TRAINERS.add(pid)
    _signal_tree(pid, signum)


slices.signal_tree = _tracked_signal_tree


def _on_exit_signal(signum: int, _frame: object) -> None:
    """Continue the frozen trainers (so each side's stop can finish), then unwind.

    Only ``os.kill`` here (a system call, no lock); the rest runs in the
    ``finally`` blocks and ``_release`` as the exception unwinds.
    """
    for other in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(other, signal.SIG_IGN)  # a second one must not cut the clean-up short
    for pid in tuple(_TRAINERS):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGCONT)
    raise SystemExit(128 + signum)


def _release() -> None:
    """At exit: kill every trainer tree this bench started that still runs, and its tmux."""
    for socket in tuple(TMUX_SOCKETS):
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
    for root in tuple(_TRAINERS):
        if not pid_alive(root) or "multiprocessing" not in cmdline(root):
            continue  # ended (its pid may be another process's by now)
        for pid in (root, *descendants(root)):
            for signum in (signal.SIGCONT, signal.SIGKILL):
                with contextlib.suppress(OSError):
                    os.kill(pid, signum)


def app_command(args: argparse.Namespace, run_dir: Path) -> list[str]:
    return [
        sys.executable, "-m", "tetris_tui", "--checkpoints", str(run_dir),
        "--env", args.env, "--n-envs", str(args.n_envs), "--device", "cpu",
        "--seed", "1", "--total-timesteps", "50000000", "--checkpoint-every", "10000000",
    ]  # fmt: skip


def interactive(screen: str) -> bool:
    """The first interactive frame: the footer's keys and the board are drawn."""
    return "quit" in screen and "board" in screen and "idle" in screen


def launch_times(args: argparse.Namespace, tmp: Path, launches: int) -> list[float]:
    """Seconds from launch to the first interactive frame, for fresh apps quit at once.

    One launch strays by about 0.2 s either way here (0.67-1.03 s in six), so
    the start-up figure is the median of several, not one.
    """
    width, height = (int(v) for v in args.size.lower().split("x"))
    times = []
    for index in range(launches):
        tmux = Tmux(width, height)
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
        width, height = (int(v) for v in args.size.lower().split("x"))
        self.tmux = Tmux(width, height)
        started = time.perf_counter()
        self.tmux.start(app_command(args, run_dir))
        wait_for(self.tmux, interactive, 60, 0.01)
        self.startup_s = time.perf_counter() - started
        self.pid = app_pid(self.tmux.pane_pid())
        self.tmux.keys("s")
        wait_for(self.tmux, lambda s: "RUNNING" in s, 120, 0.05)
        _TRAINERS.add(self.worker)

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
        subprocess.run(
            [
                sys.executable,
                "-m",
                "tetris_tui",
                "--headless",
                "--detach",
                "--checkpoints",
                str(run_dir),
                "--env",
                args.env,
                "--n-envs",
                str(args.n_envs),
                "--device",
                "cpu",
                "--seed",
                "1",
                "--total-timesteps",
                "50000000",
                "--checkpoint-every",
                "10000000",
            ],  # fmt: skip
            check=True,
            capture_output=True,
        )
        self.run_dir = run_dir
        width, height = (int(v) for v in args.size.lower().split("x"))
        self.tmux = Tmux(width, height)
        started = time.perf_counter()
        self.tmux.start(
            [sys.executable, "-m", "tetris_tui", "attach", "--checkpoints", str(run_dir)]
        )
        wait_for(self.tmux, lambda s: "quit" in s and "RUNNING" in s, 60, 0.01)
        self.startup_s = time.perf_counter() - started
        self.pid = app_pid(self.tmux.pane_pid())
        _TRAINERS.add(self.worker)

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


def measure(args: argparse.Namespace, tmp: Path) -> dict[str, float]:
    app = (AttachedAppSide if args.attached else AppSide)(args, tmp / "ui")
    headless = None
    try:
        headless = HeadlessSide(args, tmp / "headless")
        _TRAINERS.add(headless.worker)
        headless.pause()
        headless.paused_steps()
        # The app trains alone past its start-up; its CPU is read over the steady part.
        time.sleep(2.0)
        cpu0, t0 = app.cpu_s(), time.perf_counter()
        time.sleep(args.warmup)
        cpu_pct = 100.0 * (app.cpu_s() - cpu0) / (time.perf_counter() - t0)
        app.pause()
        app.paused_steps()
        rate = warm_up(headless, 2.0 + args.warmup)
        catch_up(app, headless, rate)
        ratio = compare(Side("UI", app, app.pid), Side("headless", headless, app.pid), args)
        app.resume()
        latencies = app.key_latencies(args.presses)
        app.quit()
    finally:
        if headless is not None:
            headless.session.stop()
        app.tmux.kill()
    return {
        "startup_s": app.startup_s,
        "cpu_pct": cpu_pct,
        "ratio": ratio,
        "p50_ms": statistics.median(latencies),
        "p95_ms": latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="placement", choices=("placement", "raw"))
    parser.add_argument("--n-envs", type=int, default=1)
    parser.add_argument("--warmup", type=float, default=8.0, help="seconds each side trains first")
    parser.add_argument(
        "--rounds",
        type=int,
        default=8,  # one round strays by 2-3%: 8 keep the ratios within about 1%
        help="rounds, each between exact counts",
    )
    parser.add_argument("--blocks", type=int, default=40, help="ABBA blocks of slices per round")
    parser.add_argument("--slice", type=float, default=0.5, help="seconds of one slice")
    parser.add_argument(
        "--control", action="store_true", help="only run two headless sides (the noise floor)"
    )
    parser.add_argument(
        "--presses",
        type=int,
        default=100,  # p95 of 40 is the 3rd slowest press, of 100 the 6th: steadier
        help="key presses for the latency",
    )
    parser.add_argument(
        "--launches", type=int, default=6, help="more app launches for the start-up's median"
    )
    parser.add_argument(
        "--spectator-only",
        action="store_true",
        help="only the spectator's cost: spectator on ÷ off, two headless sides",
    )
    parser.add_argument(
        "--spectator-core",
        choices=("shared", "other"),
        default="shared",
        help="the spectators share their workers' core (the worst case) or have the other",
    )
    parser.add_argument(
        "--attached",
        action="store_true",
        help="the app attached to a detached trainer instead of spawning it",
    )
    parser.add_argument("--screenshot", type=Path, help="only save an SVG of a training run")
    parser.add_argument("--seconds", type=float, default=90.0, help="training before the shot")
    parser.add_argument("--size", default="160x50", help="terminal size (WxH)")
    args = parser.parse_args()
    # The app saves preferences (the board view that `w` toggles...): not in the user's.
    config_home = tempfile.TemporaryDirectory(prefix="tetris-tui-bench-config-")
    os.environ["XDG_CONFIG_HOME"] = config_home.name
    atexit.register(_release)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _on_exit_signal)
    if args.screenshot is not None:
        width, height = (int(v) for v in args.size.lower().split("x"))
        screenshot(args.screenshot, args.seconds, (width, height), args.env)
        return 0
    if shutil.which("tmux") is None:
        print("bench/ui.py needs tmux (apt-get install tmux)", file=sys.stderr)
        return 2
    print(
        f"env={args.env} n_envs={args.n_envs} size={args.size} "
        f"slices={args.rounds}x{4 * args.blocks}x{args.slice:g}s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        if args.control:
            print(f"control (headless ÷ headless): ratio={control(args, Path(tmp)):.3f}")
            return 0
        if args.spectator_only:
            print(f"spectator_ratio={spectator_ratio(args, Path(tmp) / 's'):.3f}")
            return 0
        result = measure(args, Path(tmp))
        starts = [result["startup_s"]]
        if not args.attached:  # an attached launch needs a trainer: the one measured
            starts += launch_times(args, Path(tmp), args.launches)
        result["startup_s"] = statistics.median(starts)
        print(f"start-ups: {', '.join(f'{t:.2f}' for t in starts)} s", flush=True)
        if args.attached:
            result["spectator_ratio"] = float("nan")  # measured without --attached
        else:
            print("spectator on ÷ off (two headless sides, same slices):", flush=True)
            result["spectator_ratio"] = spectator_ratio(args, Path(tmp) / "s")
    print(f"startup (launch -> first interactive frame): median {result['startup_s']:.2f} s")
    print(f"key -> screen change: p50 {result['p50_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms")
    print(f"UI process CPU while it shows training: {result['cpu_pct']:.1f}% of one core")
    print(
        f"p95_ms={result['p95_ms']:.1f} cpu_pct={result['cpu_pct']:.1f} "
        f"startup_s={result['startup_s']:.2f} ratio={result['ratio']:.3f} "
        f"spectator_ratio={result['spectator_ratio']:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
