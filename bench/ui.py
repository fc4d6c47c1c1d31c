"""What the UI costs and how it feels: the real app in a real terminal (tmux).

Runs ``python -m tetris_tui`` in a private tmux server while it trains at full
speed, and measures from the outside:

- start -> first interactive frame (the footer and the board are drawn);
- key press -> screen change latency (``w`` toggles watching, which flips the
  "watch off" label; p50/p95 over ``--presses`` presses);
- the UI process's CPU share (% of one core, from /proc/<pid>/stat over a window);
- training steps/s with the UI attached ÷ headless (a bare ``TrainingSession``
  drained at 20 Hz, same config, same warm-up and window, in the same run).

    python bench/ui.py [--env placement|raw] [--n-envs K] [--size 160x50] [--rounds R]
    python bench/ui.py --screenshot docs/screenshot-training.svg [--seconds 90] [--size 120x36]

Last line: ``p95_ms=… cpu_pct=… startup_s=… ratio=…``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from tetris_tui.config import Config, EnvConfig
from tetris_tui.protocol import Metrics
from tetris_tui.training.session import TrainingSession

TICKS = os.sysconf("SC_CLK_TCK")
STEPS = re.compile(r"([\d,]+) st(?:eps)?\b")


class Tmux:
    def __init__(self, width: int = 160, height: int = 50) -> None:
        self.socket = f"tetris-tui-bench-{uuid.uuid4().hex[:8]}"
        self.size = (width, height)

    def run(self, *args: str) -> str:
        out = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True)
        return out.stdout

    def start(self, command: list[str]) -> None:
        width, height = self.size
        env = {**os.environ, "TERM": "xterm-256color"}
        line = " ".join(f"'{part}'" for part in command)
        subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", "new-session", "-d", "-s", "b",
             "-x", str(width), "-y", str(height), line],
            check=True, env=env,
        )  # fmt: skip

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "b")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "b", *keys)

    def pane_pid(self) -> int:
        return int(self.run("display-message", "-p", "-t", "b", "#{pane_pid}").strip())

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def app_pid(root: int) -> int:
    """The app's python process: the pane's process or its first tetris_tui child."""
    for pid in [root, *_children(root)]:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if b"tetris_tui" in cmdline and b"multiprocessing" not in cmdline:
            return pid
    return root


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                out.append(int(entry))
                out.extend(_children(int(entry)))
    return out


def wait_for(tmux: Tmux, check, timeout: float, poll: float = 0.005) -> float:
    """Seconds until ``check(screen)`` holds (polling capture-pane)."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if check(tmux.screen()):
            return time.perf_counter() - start
        time.sleep(poll)
    raise TimeoutError(f"screen condition not met in {timeout}s:\n{tmux.screen()}")


def screen_steps(screen: str) -> int:
    first = screen.splitlines()[0] if screen else ""
    match = STEPS.search(first)
    return int(match.group(1).replace(",", "")) if match else 0


def bench_ui(args: argparse.Namespace, run_dir: Path) -> dict[str, Any]:
    command = [
        sys.executable, "-m", "tetris_tui", "--checkpoints", str(run_dir),
        "--env", args.env, "--n-envs", str(args.n_envs), "--device", "cpu",
        "--seed", "1", "--total-timesteps", "50000000", "--checkpoint-every", "10000000",
    ]  # fmt: skip
    width, height = (int(v) for v in args.size.lower().split("x"))
    tmux = Tmux(width, height)
    started = time.perf_counter()
    tmux.start(command)
    try:
        wait_for(tmux, lambda s: "quit" in s and "board" in s and "idle" in s, 60, 0.01)
        startup = time.perf_counter() - started
        pid = app_pid(tmux.pane_pid())
        tmux.keys("s")
        wait_for(tmux, lambda s: "RUNNING" in s, 120, 0.05)
        time.sleep(args.warmup)
        # CPU share and training speed over a quiet window (no polling inside it).
        steps0, cpu0, t0 = screen_steps(tmux.screen()), cpu_seconds(pid), time.perf_counter()
        time.sleep(args.window)
        steps1, cpu1, t1 = screen_steps(tmux.screen()), cpu_seconds(pid), time.perf_counter()
        cpu_pct = 100.0 * (cpu1 - cpu0) / (t1 - t0)
        ui_rate = (steps1 - steps0) / (t1 - t0)
        # Key press -> screen change, while training goes on at full speed.
        latencies = []
        for _ in range(args.presses):
            watching_off = "watch off" in tmux.screen()
            t = time.perf_counter()
            tmux.keys("w")
            wait_for(tmux, lambda s, off=watching_off: ("watch off" in s) != off, 10)
            latencies.append((time.perf_counter() - t) * 1000)
            time.sleep(0.1)
        if "watch off" in tmux.screen():
            tmux.keys("w")
        tmux.keys("q")
        tree = [pid, *_children(pid)]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in tree):
            time.sleep(0.1)
    finally:
        tmux.kill()
    latencies.sort()
    return {
        "startup_s": startup,
        "cpu_pct": cpu_pct,
        "ui_rate": ui_rate,
        "latencies": latencies,  # type: ignore[dict-item]
        "p50_ms": statistics.median(latencies),
        "p95_ms": latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))],
    }


def bench_headless(args: argparse.Namespace, run_dir: Path) -> float:
    """Steps/s of the same config with nothing but a 20 Hz drain attached."""
    config = Config(
        total_timesteps=50_000_000,
        n_envs=args.n_envs,
        run_dir=run_dir,
        checkpoint_every=10_000_000,
        seed=1,
        device="cpu",
        env=EnvConfig(kind=args.env),
    )
    session = TrainingSession()
    session.start(config)
    latest: list[Metrics] = []

    def pump(seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            latest.extend(e for e in session.drain(1000) if isinstance(e, Metrics))
            del latest[:-1]
            time.sleep(0.05)

    try:
        while not latest:
            pump(0.1)
        pump(args.warmup)
        steps0, t0 = latest[-1].timesteps, time.perf_counter()
        pump(args.window)
        steps1, t1 = latest[-1].timesteps, time.perf_counter()
    finally:
        session.stop()
    return (steps1 - steps0) / (t1 - t0)


def screenshot(path: Path, seconds: float, size: tuple[int, int], env: str) -> None:
    """Train for ``seconds`` in the real app (headless, run_test) and save an SVG."""
    import asyncio

    from tetris_tui.ui.app import TetrisApp

    async def run(run_dir: Path) -> None:
        config = Config(
            n_envs=2, run_dir=run_dir, seed=1, device="cpu", env=EnvConfig(kind=env), fps=10
        )
        app = TetrisApp(config)
        async with app.run_test(size=size) as pilot:
            await pilot.press("s")
            await pilot.pause(seconds)
            app.clear_notifications()
            await pilot.pause(0.5)
            app.save_screenshot(filename=path.name, path=str(path.parent))
            await pilot.press("q")
            while app.is_running:
                await pilot.pause(0.2)

    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    here = Path.cwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # the status line then shows the usual "checkpoints"
        try:
            asyncio.run(run(Path("checkpoints")))
        finally:
            os.chdir(here)
    print(f"saved {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="placement", choices=("placement", "raw"))
    parser.add_argument("--n-envs", type=int, default=1)
    parser.add_argument("--warmup", type=float, default=8.0, help="seconds before measuring")
    parser.add_argument("--window", type=float, default=15.0, help="seconds measured")
    parser.add_argument("--presses", type=int, default=30, help="key presses per round")
    parser.add_argument(
        "--rounds", type=int, default=2, help="UI and headless runs, interleaved (noise)"
    )
    parser.add_argument("--screenshot", type=Path, help="only save an SVG of a training run")
    parser.add_argument("--seconds", type=float, default=90.0, help="training before the shot")
    parser.add_argument("--size", default="160x50", help="terminal size (WxH)")
    args = parser.parse_args()
    if args.screenshot is not None:
        width, height = (int(v) for v in args.size.lower().split("x"))
        screenshot(args.screenshot, args.seconds, (width, height), args.env)
        return 0
    if shutil.which("tmux") is None:
        print("bench/ui.py needs tmux (apt-get install tmux)", file=sys.stderr)
        return 2
    uis: list[dict[str, Any]] = []
    headless: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for round_no in range(args.rounds):
            # Alternate the order so a drift in machine load hits both sides alike.
            order = ("ui", "headless") if round_no % 2 == 0 else ("headless", "ui")
            for side in order:
                run_dir = Path(tmp) / f"{side}{round_no}"
                if side == "ui":
                    uis.append(bench_ui(args, run_dir))
                else:
                    headless.append(bench_headless(args, run_dir))
            ui = uis[-1]
            print(
                f"round {round_no + 1}: UI {ui['ui_rate']:.0f} steps/s, "
                f"headless {headless[-1]:.0f} steps/s, UI cpu {ui['cpu_pct']:.1f}%, "
                f"key p50 {ui['p50_ms']:.1f} ms p95 {ui['p95_ms']:.1f} ms",
                flush=True,
            )
    latencies = sorted(x for ui in uis for x in ui["latencies"])
    p50 = statistics.median(latencies)
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    cpu = statistics.median(ui["cpu_pct"] for ui in uis)
    startup = statistics.median(ui["startup_s"] for ui in uis)
    ui_rate = statistics.fmean(ui["ui_rate"] for ui in uis)
    bare = statistics.fmean(headless)
    ratio = ui_rate / bare if bare else float("nan")
    print(f"startup (launch -> first interactive frame): {startup:.2f} s")
    print(f"key -> screen change: p50 {p50:.1f} ms, p95 {p95:.1f} ms ({len(latencies)} presses)")
    print(f"UI process CPU while training: {cpu:.1f}% of one core")
    print(f"steps/s with UI {ui_rate:.0f}, headless {bare:.0f}")
    print(f"p95_ms={p95:.1f} cpu_pct={cpu:.1f} startup_s={startup:.2f} ratio={ratio:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
