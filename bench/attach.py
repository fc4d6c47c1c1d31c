"""Does a frozen viewer slow training, or grow the trainer's memory?

Starts a detached trainer (``tetris-tui --headless --detach``), attaches the real
app to it in tmux, then in each round lets the app run for ``--live`` seconds,
freezes it with SIGSTOP for ``--frozen`` seconds, and lets it run again. Training
speed comes from the trainer's own metrics, read by a second (read-only) viewer
in this process: wall steps/s and steps per CPU-second of the trainer. The
trainer's RSS is sampled before and after each freeze.

    python bench/attach.py [--rounds 3] [--live 15] [--frozen 30] [--n-envs 4]

Last line: ``frozen_ratio=… rss_growth_mb=…`` (steps/s while frozen ÷ while live,
median over rounds; goal: ratio ≥ 0.98 and growth of a few MB at most).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tmux_app import tmux_env

from tetris_tui.proctree import rss_mb
from tetris_tui.protocol import Metrics
from tetris_tui.runs.trainers import live_trainer
from tetris_tui.session.attached import AttachedSession


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Probe:
    """Reads the trainer's timesteps from its metrics, as a live read-only viewer."""

    def __init__(self, run: Path) -> None:
        self.session = AttachedSession(run, read_only=True)
        self.session.attach()
        self.timesteps = 0

    def sample(self) -> int:
        for event in self.session.drain(max_items=100_000):
            if isinstance(event, Metrics):
                self.timesteps = max(self.timesteps, event.timesteps)
        return self.timesteps


def window(probe: Probe, pid: int, seconds: float) -> tuple[float, float]:
    """(wall steps/s, steps per trainer CPU-second) over ``seconds``."""
    probe.sample()
    time.sleep(0.5)
    steps0, cpu0, t0 = probe.sample(), cpu_seconds(pid), time.monotonic()
    deadline = t0 + seconds
    while time.monotonic() < deadline:
        time.sleep(0.25)
        probe.sample()
    steps1, cpu1, t1 = probe.sample(), cpu_seconds(pid), time.monotonic()
    return (steps1 - steps0) / (t1 - t0), (steps1 - steps0) / max(cpu1 - cpu0, 1e-9)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--live", type=float, default=15.0)
    parser.add_argument("--frozen", type=float, default=30.0)
    parser.add_argument("--n-envs", type=int, default=4)
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        print("bench/attach.py needs tmux", file=sys.stderr)
        return 2

    run = Path(tempfile.mkdtemp(prefix="tetris-attach-")) / "run"
    cli = [sys.executable, "-m", "tetris_tui"]
    subprocess.run(
        [*cli, "--headless", "--detach", "--checkpoints", str(run), "--n-envs", str(args.n_envs)]
        + ["--device", "cpu", "--total-timesteps", "1000000000", "--seed", "1"],
        check=True,
        capture_output=True,
    )
    card = live_trainer(run)
    assert card is not None, "the trainer did not start"
    socket = f"tetris-attach-{uuid.uuid4().hex[:8]}"
    attach = " ".join([*cli, "attach", "--checkpoints", str(run)])
    subprocess.run(
        ["tmux", "-L", socket, "-f", "/dev/null", "new-session", "-d", "-x", "160", "-y", "50"]
        + [attach],
        check=True,
        env=tmux_env(),
    )
    app_pid = int(
        subprocess.run(
            ["tmux", "-L", socket, "display-message", "-p", "#{pane_pid}"],
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    probe = Probe(run)
    ratios, cpu_ratios, rss = [], [], []
    try:
        time.sleep(5.0)  # the app attaches and reads the history
        rss.append(rss_mb(card.pid) or 0.0)
        print(f"trainer pid {card.pid}, app pid {app_pid}, run {run}", flush=True)
        print(f"{'round':>5} {'live steps/s':>13} {'frozen':>8} {'ratio':>6} {'cpu ratio':>9}")
        for index in range(args.rounds):
            before = window(probe, card.pid, args.live)
            os.kill(app_pid, signal.SIGSTOP)
            try:
                frozen = window(probe, card.pid, args.frozen)
                rss.append(rss_mb(card.pid) or 0.0)
            finally:
                os.kill(app_pid, signal.SIGCONT)
            after = window(probe, card.pid, args.live)
            live = (before[0] + after[0]) / 2
            live_cpu = (before[1] + after[1]) / 2
            ratios.append(frozen[0] / live)
            cpu_ratios.append(frozen[1] / live_cpu)
            print(
                f"{index + 1:>5} {live:>13,.0f} {frozen[0]:>8,.0f} "
                f"{ratios[-1]:>6.3f} {cpu_ratios[-1]:>9.3f}",
                flush=True,
            )
        rss.append(rss_mb(card.pid) or 0.0)
    finally:
        os.kill(card.pid, signal.SIGTERM)
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
        probe.session.detach()
    growth = max(rss) - rss[0]
    print(f"trainer RSS (MB): {', '.join(f'{r:.0f}' for r in rss)}")
    spread = f"{min(ratios):.3f}-{max(ratios):.3f}"
    print(f"ratios {', '.join(f'{r:.3f}' for r in ratios)}; spread {spread}")
    print(
        f"frozen_ratio={statistics.median(ratios):.3f} "
        f"cpu_ratio={statistics.median(cpu_ratios):.3f} rss_growth_mb={growth:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
