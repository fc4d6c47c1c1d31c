"""What reporting costs training: bare ``model.learn()`` vs the full worker.

Both train the same config and seed (training here is deterministic: both do
exactly the same work) in fresh spawned processes, pinned to one core, in
turns: the bench freezes them (SIGSTOP) and lets each run in ``--slice``-second
slices ordered ABBA, so the machine's drift hits both alike and neither refills
its caches after the other every few milliseconds. (Sharing the core at once,
rounds strayed from 0.907 to 1.019 in 12; run one after the other, rounds of the
*same* side vary by +-15% on these machines; in turns, two bare runs read
0.961 to 1.009, median 1.001 over 4 rounds.) Each side's throughput is
timesteps per CPU-second of its process, all threads included, over ``learn()``
from training start to end. The worker's children (its spectator) run on the
other core, where the OS would put them (``--spectator-core``).

The worker side is the real thing: its callback, its queue feeder thread, the
history file, best-model saves, and a consumer (this process, on another core)
draining the queue as the UI does. Also measures stop latency: Stop sent ->
``latest`` on disk and the worker exited.

    python bench/overhead.py [--steps N] [--rounds R] [--slice S] [--env placement|raw]
    python bench/overhead.py --control   # bare ÷ bare: the method's noise floor

The default of 400,000 steps is ~15 CPU-seconds a side, ~40 s a round on a
quiet 2-core machine: the old 16,384 were half a second of training, so
start-up (the first rollout, the spectator starting beside it) dominated.

Killed (Ctrl+C, SIGTERM, a hang-up), it continues the sides it froze first.

Last line: ``ratio=…`` (median over rounds of worker ÷ bare; goal >= 0.98); the
line before it gives the rounds' spread. With ``--control`` both sides are bare
(the second in the worker's place): the same line, for how far from 1.000 the
method strays by noise alone.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import multiprocessing
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from cores import pick_shared_core, pin_tree
from learn_sides import BareRun, Side, SideDied, WorkerRun

from tetris_tui.config import Config, EnvConfig
from tetris_tui.proctree import descendants
from tetris_tui.protocol import RUNNING, Stop
from tetris_tui.session.spawned import TrainingSession

# Sides this bench has frozen (SIGSTOP): continued whatever way the bench ends.
_FROZEN: set[int] = set()


def _continue_frozen(signum: int | None = None, frame: Any = None) -> None:
    """Never leave a stopped trainer behind (SIGSTOP survives its bench)."""
    for pid in tuple(_FROZEN):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
    if signum is not None:
        raise SystemExit(128 + signum)


class ChildPinner:
    """Moves the worker's children (its spectator) onto ``core`` as they appear.

    A child inherits the worker's pinned core. On a real machine the OS runs the
    spectator on whichever core is free; sharing the pinned core, it time-slices
    with both sides and refills their caches, which is not reporting's cost.
    """

    def __init__(self, pid: int, core: int) -> None:
        self.pid, self.core, self.done = pid, core, threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        seen: set[int] = set()
        while not self.done.wait(0.1):
            for child in set(descendants(self.pid)) - seen:
                with contextlib.suppress(OSError):
                    pin_tree(child, self.core)
                    seen.add(child)

    def stop(self) -> None:
        self.done.set()


def run_round(
    config: Config,
    root: Path,
    index: int,
    core: int | None,
    children_core: int | None,
    slice_s: float,
    control: bool = False,
) -> tuple[Side, Side]:
    """Bare and worker (or, with ``control``, bare and bare) on one core, in turns.

    SIGSTOP slices ordered ABBA. Sharing a core at once, the two time-sliced
    every few milliseconds and each refilled its caches after the other: rounds
    strayed +-5% (0.907 to 1.019 in 12), more than reporting costs. In turns,
    each side trains alone in its slices, as it does alone at the end, while
    the machine's drift still hits both alike. The first side alternates by round.
    """
    context = multiprocessing.get_context("spawn")
    bare = BareRun(context, config.replace(run_dir=root / f"bare{index}"))
    other: BareRun | WorkerRun
    if control:
        other = BareRun(context, config.replace(run_dir=root / f"control{index}"))
    else:
        other = WorkerRun(config.replace(run_dir=root / f"full{index}"))
    runs = [bare, other] if index % 2 == 0 else [other, bare]
    pids = [run.pid for run in runs]
    _FROZEN.update(pids)
    if core is not None:
        for pid in pids:
            os.sched_setaffinity(pid, {core})
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    pinner = None
    if children_core is not None and isinstance(other, WorkerRun):
        pinner = ChildPinner(other.pid, children_core)
    done = {id(run): False for run in runs}
    turn = 0
    try:
        while not all(done.values()):
            run = runs[0] if turn % 4 in (0, 3) else runs[1]
            turn += 1
            if done[id(run)]:
                continue
            with contextlib.suppress(ProcessLookupError):  # it may end in its slice
                os.kill(run.pid, signal.SIGCONT)
            ends = time.monotonic() + slice_s
            while time.monotonic() < ends:
                for each in runs:
                    done[id(each)] = done[id(each)] or each.poll()
                time.sleep(0.01)
            with contextlib.suppress(ProcessLookupError):
                os.kill(run.pid, signal.SIGSTOP)
    except SideDied:
        for each in runs:
            with contextlib.suppress(ProcessLookupError):
                os.kill(each.pid, signal.SIGCONT)
            each.abandon()
        raise
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        _FROZEN.difference_update(pids)
        if pinner is not None:
            pinner.stop()
    return bare.finish(), other.finish()


def stop_latency(config: Config) -> float:
    """Seconds from Stop to latest/model.zip written and the worker gone."""
    session = TrainingSession()
    session.start(config)
    while session.state != RUNNING:
        session.drain()
        time.sleep(0.02)
    time.sleep(1.0)
    model = config.run_dir / "latest" / "model.zip"
    started = time.monotonic()
    session.send(Stop())
    while session.alive:
        session.drain()
        time.sleep(0.005)
    elapsed = time.monotonic() - started
    session.stop()
    assert model.stat().st_mtime > time.time() - elapsed - 1.0
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--env", choices=("placement", "raw"), default=Config().env.kind)
    parser.add_argument("--n-envs", type=int, default=Config().n_envs)
    parser.add_argument("--slice", type=float, default=0.25, help="seconds a side runs in turn")
    parser.add_argument(
        "--spectator-core",
        choices=("other", "shared", "both"),
        default="other",
        help="where the worker's spectator runs: the other core (as the OS would put it), "
        "the shared one, or alternating by round (each placement gets its own ratio)",
    )
    parser.add_argument(
        "--control",
        action="store_true",
        help="two bare sides instead: how far from 1.000 the ratio strays by noise alone",
    )
    args = parser.parse_args()
    atexit.register(_continue_frozen)
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, _continue_frozen)
    root = Path(tempfile.mkdtemp(prefix="tetris-overhead-"))
    base = Config(
        total_timesteps=args.steps,
        n_envs=args.n_envs,
        seed=7,
        device="cpu",
        env=EnvConfig(kind=args.env),
        checkpoint_every=10**9,
    )
    core = pick_shared_core()
    other = None if core is None else min(os.sched_getaffinity(0))
    print(
        f"env={args.env} n_envs={args.n_envs} steps={args.steps} rounds={args.rounds} "
        f"shared core={core} spectator core={args.spectator_core}"
        + ("  control: bare ÷ bare" if args.control else "")
    )
    second = "bare" if args.control else "worker"
    ratios, bares, fulls = [], [], []
    by_placement: dict[str, list[float]] = {"other": [], "shared": []}
    for index in range(args.rounds):
        placement = args.spectator_core
        if placement == "both":
            placement = ("other", "shared")[(index // 2) % 2]  # each start order in each
        children_core = other if placement == "other" else None
        try:
            bare, full = run_round(base, root, index, core, children_core, args.slice, args.control)
        except SideDied as exc:
            print(f"overhead.py: {exc}", file=sys.stderr)
            return 1
        bares.append(bare.per_cpu_s)
        fulls.append(full.per_cpu_s)
        ratios.append(full.per_cpu_s / bare.per_cpu_s)
        by_placement[placement].append(ratios[-1])
        print(
            f"round {index + 1}: bare {bare.per_cpu_s:7.1f} {second} {full.per_cpu_s:7.1f} "
            f"steps per CPU-s  (wall, in turns: {bare.per_wall_s:6.1f} / "
            f"{full.per_wall_s:6.1f} steps/s)  ratio {ratios[-1]:.3f}  spectator {placement}"
        )
    if not args.control:
        latencies = [
            stop_latency(base.replace(run_dir=root / f"stop{i}", total_timesteps=10**7))
            for i in range(3)
        ]
        print(
            "stop latency: "
            + "  ".join(f"{x:.2f}s" for x in latencies)
            + f"  (max {max(latencies):.2f}s)"
        )
    print(
        f"median: bare {statistics.median(bares):.1f}, {second} {statistics.median(fulls):.1f} "
        f"steps per CPU-second (= steps/s on a core of its own)"
    )
    print(f"rounds: ratio {min(ratios):.3f}-{max(ratios):.3f} over {len(ratios)}")
    for placement, values in by_placement.items():
        if values and args.spectator_core == "both":
            print(
                f"spectator on the {placement} core: median {statistics.median(values):.3f} "
                f"({min(values):.3f}-{max(values):.3f} over {len(values)})"
            )
    print(f"ratio={statistics.median(ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
