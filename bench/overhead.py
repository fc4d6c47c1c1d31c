"""What reporting costs training: bare ``model.learn()`` vs the full worker.

Both train the same config and seed (training here is deterministic: both do
exactly the same work) in fresh spawned processes. In each round the two run
at the same time, pinned to the same core, so the scheduler interleaves them
every few milliseconds and whatever the machine does (clock changes, noisy
neighbours) hits both alike. Each side's throughput is timesteps per CPU-second
of its process, all threads included, over ``learn()`` from training start to
end. Run one after the other, rounds of the *same* side varied by +-15% on
these machines; sharing a core, two bare runs agree within 1%.

The worker side is the real thing: its callback, its queue feeder thread, the
history file, best-model saves, and a consumer (this process, on another core)
draining the queue at 20 Hz as the UI does. Also measures stop latency: Stop
sent -> ``latest`` on disk and the worker exited.

    python bench/overhead.py [--steps N] [--rounds R] [--env placement|raw]

The default of 400,000 steps is ~15 CPU-seconds a side, ~40 s a round on a
quiet 2-core machine: the old 16,384 were half a second of training, so
start-up (the first rollout, the spectator starting beside it) dominated.

Last line: ``ratio=…`` (median over rounds of worker ÷ bare; goal >= 0.98); the
line before it gives the rounds' spread.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cores import pick_shared_core

from tetris_tui.config import Config, EnvConfig
from tetris_tui.protocol import RUNNING, TERMINAL_STATES, Metrics, Status, Stop
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


def run_round(config: Config, root: Path, index: int, core: int | None) -> tuple[Side, Side]:
    """Bare and worker at once on one core; the first to start alternates by round."""
    context = multiprocessing.get_context("spawn")
    result = context.Queue()
    bare_config = config.replace(run_dir=root / f"bare{index}")
    bare = context.Process(target=bare_learn, args=(bare_config, result))
    session = TrainingSession()
    starts = [bare.start, lambda: session.start(config.replace(run_dir=root / f"full{index}"))]
    for start in starts if index % 2 == 0 else reversed(starts):
        start()
    if core is not None:
        for pid in (bare.pid, session.pid):
            os.sched_setaffinity(pid, {core})
    last: Metrics | None = None
    done = False
    while not done:
        for event in session.drain(max_items=1000):
            if isinstance(event, Metrics):
                last = event
            if isinstance(event, Status) and event.state in TERMINAL_STATES:
                done = True
        time.sleep(0.05)
    session.stop()
    steps, wall_s, cpu_s = result.get()
    bare.join()
    assert last is not None and last.cpu_s > 0, "the worker sent no metrics"
    return Side(steps, wall_s, cpu_s), Side(last.timesteps, last.elapsed_s, last.cpu_s)


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
    args = parser.parse_args()
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
    print(
        f"env={args.env} n_envs={args.n_envs} steps={args.steps} rounds={args.rounds} "
        f"shared core={core}"
    )
    ratios, bares, fulls = [], [], []
    for index in range(args.rounds):
        bare, full = run_round(base, root, index, core)
        bares.append(bare.per_cpu_s)
        fulls.append(full.per_cpu_s)
        ratios.append(full.per_cpu_s / bare.per_cpu_s)
        print(
            f"round {index + 1}: bare {bare.per_cpu_s:7.1f} worker {full.per_cpu_s:7.1f} "
            f"steps per CPU-s  (wall, sharing the core: {bare.per_wall_s:6.1f} / "
            f"{full.per_wall_s:6.1f} steps/s)  ratio {ratios[-1]:.3f}"
        )
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
        f"median: bare {statistics.median(bares):.1f}, worker {statistics.median(fulls):.1f} "
        f"steps per CPU-second (= steps/s on a core of its own)"
    )
    print(f"rounds: ratio {min(ratios):.3f}-{max(ratios):.3f} over {len(ratios)}")
    print(f"ratio={statistics.median(ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
