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
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import leftovers
from app_sides import AppSide, AttachedAppSide, launch_times, terminal_size
from slices import HeadlessSide, Side, catch_up, compare, control, spectator_ratio, warm_up
from ui_screenshot import screenshot


def measure(args: argparse.Namespace, tmp: Path) -> dict[str, float]:
    app = (AttachedAppSide if args.attached else AppSide)(args, tmp / "ui")
    headless = None
    try:
        headless = HeadlessSide(args, tmp / "headless")
        leftovers.track(headless.worker)
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
    leftovers.install()
    if args.screenshot is not None:
        screenshot(args.screenshot, args.seconds, terminal_size(args), args.env)
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
