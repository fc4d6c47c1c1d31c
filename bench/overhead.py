"""What reporting costs training: bare ``model.learn()`` vs the full worker.

Both run the same config and seed in a fresh spawned process, interleaved over
several rounds so machine noise hits both alike. Throughput is timesteps over
the wall time of ``learn()`` itself (set-up excluded on both sides). Also
measures stop latency: Stop sent -> ``latest`` on disk and the worker exited.

    python bench/overhead.py [--steps N] [--rounds R] [--env placement|raw]

Last line: ``ratio=…`` (full worker ÷ bare; goal >= 0.98).
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tetris_tui.config import Config, EnvConfig
from tetris_tui.protocol import FINISHED, RUNNING, STOPPED, Metrics, Status, Stop
from tetris_tui.training.session import TrainingSession


def bare_learn(config: Config, result: multiprocessing.Queue) -> None:
    """model.learn() with no callback, timed the same way the worker times itself."""
    from tetris_tui.training.model_factory import build_vec_env, new_model, set_torch_threads

    set_torch_threads(config)  # as the worker does: same threads on both sides
    venv = build_vec_env(config)
    model = new_model(config, venv)
    start = time.perf_counter()
    model.learn(config.total_timesteps)
    result.put(model.num_timesteps / (time.perf_counter() - start))
    venv.close()


def run_bare(config: Config) -> float:
    context = multiprocessing.get_context("spawn")
    result = context.Queue()
    process = context.Process(target=bare_learn, args=(config, result))
    process.start()
    rate = result.get()
    process.join()
    return rate


def run_worker(config: Config) -> float:
    """The full worker, with a consumer draining the queue as the UI does (20 Hz)."""
    session = TrainingSession()
    session.start(config)
    last: Metrics | None = None
    done = False
    while not done:
        for event in session.drain(max_items=1000):
            if isinstance(event, Metrics):
                last = event
            if isinstance(event, Status) and event.state in (FINISHED, STOPPED, "crashed"):
                done = True
        time.sleep(0.05)
    session.stop()
    assert last is not None and last.elapsed_s > 0
    return last.timesteps / last.elapsed_s


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
    parser.add_argument("--steps", type=int, default=16_384)
    parser.add_argument("--rounds", type=int, default=3)
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
    print(f"env={args.env} n_envs={args.n_envs} steps={args.steps} rounds={args.rounds}")
    bare, full = [], []
    for index in range(args.rounds):
        bare.append(run_bare(base.replace(run_dir=root / f"bare{index}")))
        full.append(run_worker(base.replace(run_dir=root / f"full{index}")))
        print(f"round {index + 1}: bare {bare[-1]:8.1f} steps/s   worker {full[-1]:8.1f} steps/s")
    latencies = [
        stop_latency(base.replace(run_dir=root / f"stop{i}", total_timesteps=10**7))
        for i in range(3)
    ]
    print(
        "stop latency: "
        + "  ".join(f"{x:.2f}s" for x in latencies)
        + f"  (max {max(latencies):.2f}s)"
    )
    bare_rate, full_rate = statistics.median(bare), statistics.median(full)
    print(f"median: bare {bare_rate:.1f} steps/s, worker {full_rate:.1f} steps/s")
    print(f"ratio={full_rate / bare_rate:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
