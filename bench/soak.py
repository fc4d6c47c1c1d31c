"""Memory over a long run: is the worker's RSS flat?

Runs ``tetris-tui --headless`` for a few minutes and samples the resident
memory (VmRSS from /proc/<pid>/status) of the training worker, its children
(SubprocVecEnv envs) and the headless parent. Growth is the median of the last
few samples minus the median right after warm-up.

    python bench/soak.py [--minutes 5] [--interval 10] [--warmup 60] [--env raw]
                         [--n-envs 1] [--checkpoints DIR]

Last line: ``rss_growth_mb=…`` (worker plus its children; flat means a few MB).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from tetris_tui.proctree import descendants, find_worker, rss_mb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds before the baseline")
    parser.add_argument("--env", default="raw", choices=("raw", "placement"))
    parser.add_argument("--n-envs", type=int, default=1)
    parser.add_argument("--checkpoints", type=Path, default=None)
    args = parser.parse_args()

    run = args.checkpoints or Path(tempfile.mkdtemp(prefix="tetris-soak-")) / "run"
    command = [
        sys.executable, "-m", "tetris_tui", "--headless", "--checkpoints", str(run),
        "--env", args.env, "--n-envs", str(args.n_envs), "--device", "cpu",
        "--total-timesteps", "1000000000", "--checkpoint-every", "20000",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    last_line = [""]

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.strip() and line.lstrip()[0].isdigit():
                last_line[0] = line.strip()

    threading.Thread(target=read, daemon=True).start()
    worker = find_worker(process.pid, timeout=60.0)
    print(f"run dir {run}; headless pid {process.pid}, worker pid {worker}", flush=True)
    print(f"{'t (s)':>7} {'worker MB':>10} {'+children':>10} {'parent MB':>10}  progress")
    samples: list[tuple[float, float, float]] = []
    started = time.monotonic()
    try:
        while (elapsed := time.monotonic() - started) < args.minutes * 60:
            if process.poll() is not None:
                raise SystemExit(f"headless run ended early (exit {process.returncode})")
            own = rss_mb(worker) or 0.0
            total = own + sum(rss_mb(p) or 0.0 for p in descendants(worker))
            parent = rss_mb(process.pid) or 0.0
            samples.append((elapsed, total, parent))
            print(f"{elapsed:7.0f} {own:10.1f} {total:10.1f} {parent:10.1f}  {last_line[0]}")
            sys.stdout.flush()
            time.sleep(args.interval)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()

    def growth(index: int) -> float:
        base = [s[index] for s in samples if s[0] >= args.warmup][:3]
        end = [s[index] for s in samples][-3:]
        if not base:
            return float("nan")
        return statistics.median(end) - statistics.median(base)

    if args.checkpoints is None:
        shutil.rmtree(run.parent, ignore_errors=True)
    print(f"parent_rss_growth_mb={growth(2):.1f}")
    print(f"rss_growth_mb={growth(1):.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
