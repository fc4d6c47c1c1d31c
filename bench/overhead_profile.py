"""Where the worker's CPU goes beside ``learn()``: the real worker, its parts timed.

    python bench/overhead_profile.py [--steps 400000]

Spawns the real training worker (``worker_entry``, as ``TrainingSession`` does)
with a timer around each part of reporting: the callback's per-step work, its
control tick and what the tick calls (spectator events, games to the history
file, board frames, metrics, the system figures), finished games, best saves,
best-game recording, the weight average and its publishing. Each timer adds
the training thread's CPU time (``time.thread_time``) of its calls, so a
loaded machine does not inflate it, and costs ~1 us a call (cProfile inflated
small Python calls several-fold). The other threads' and processes' CPU time
is read from ``/proc`` at the end. Prints each part in ms and in % of the
training thread's ``learn()``; the parts nest (the tick includes what it calls).
"""

from __future__ import annotations

import argparse
import atexit
import gc
import importlib
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tetris_tui.config import Config  # noqa: E402
from tetris_tui.protocol import TERMINAL_STATES, Status  # noqa: E402

# (module, class, method) timed in the worker; missing ones are skipped.
PARTS = [
    ("stable_baselines3.common.on_policy_algorithm", "OnPolicyAlgorithm", "learn"),
    ("stable_baselines3.common.on_policy_algorithm", "OnPolicyAlgorithm", "collect_rollouts"),
    ("tetris_tui.policy.lean_ppo", "LeanPPO", "train"),
    ("tetris_tui.policy.weight_average", "WeightAverage", "update"),
    ("tetris_tui.worker.callback", "ReportingCallback", "on_step"),
    ("tetris_tui.worker.callback", "ReportingCallback", "_finish_games"),
    ("tetris_tui.worker.callback", "ReportingCallback", "_save_best"),
    ("tetris_tui.worker.callback", "ReportingCallback", "_control"),
    ("tetris_tui.worker.callback", "ReportingCallback", "_send_metrics"),
    ("tetris_tui.worker.callback", "ReportingCallback", "on_rollout_start"),
    ("tetris_tui.worker.callback", "ReportingCallback", "_publish_weights"),
    ("tetris_tui.worker.spectator", "Spectator", "forward"),
    ("tetris_tui.worker.board_frames", "BoardFrames", "send_if_due"),
    ("tetris_tui.worker.system_probe", "SystemProbe", "forward"),
    ("tetris_tui.worker.reporter", "EventSink", "send"),
    ("tetris_tui.worker.reporter", "EventSink", "flush"),
    ("tetris_tui.runs.runlog", "RunLog", "append_many"),
    ("tetris_tui.worker.best_replay", "TrainingReplays", "offer"),
    ("tetris_tui.worker.best_replay", "TrainingReplays", "write"),
    ("tetris_tui.worker.saver", "CheckpointWriter", "save"),
    ("tetris_tui.worker.game_stats", "RollingGames", "add_many"),
    ("tetris_tui.envs.game_recorder", "GameRecorder", "record"),
    ("tetris_tui.envs.placement_vec", "PlacementVecEnv", "step_wait"),
]


def _timed(table: dict[str, list[float]], name: str, method: Any) -> Any:
    clock = time.thread_time

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = clock()
        try:
            return method(*args, **kwargs)
        finally:
            entry = table[name]
            entry[0] += clock() - started
            entry[1] += 1

    return timed


def _time_collections(table: dict[str, list[float]]) -> None:
    """Python's garbage collections in ``learn()``, by generation: a cost no part's
    timer shows.

    A collection runs inside whatever call allocated last (often torch or the
    env), and its length grows with the objects the process keeps alive."""
    from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm

    started = [0.0]
    learning = [False]
    learn = OnPolicyAlgorithm.learn

    def flagged(*args: Any, **kwargs: Any) -> Any:
        learning[0] = True
        try:
            return learn(*args, **kwargs)
        finally:
            learning[0] = False

    OnPolicyAlgorithm.learn = flagged  # type: ignore[method-assign]

    def on_collect(phase: str, info: dict[str, Any]) -> None:
        if not learning[0]:
            return
        if phase == "start":
            started[0] = time.thread_time()
            return
        entry = table.setdefault(f"gc generation {info['generation']}", [0.0, 0])
        entry[0] += time.thread_time() - started[0]
        entry[1] += 1

    gc.callbacks.append(on_collect)


def timed_worker(config: Config, events: Any, commands: Any, stop_flag: Any) -> None:
    """``worker_entry`` with ``PARTS`` timed; the table lands in ``<run>/parts.json``."""
    from tetris_tui.worker.trainer import worker_entry

    table: dict[str, list[float]] = {}
    for module_name, class_name, method_name in PARTS:
        cls = getattr(importlib.import_module(module_name), class_name, None)
        if cls is None or not hasattr(cls, method_name):
            continue
        name = f"{class_name}.{method_name}"
        table[name] = [0.0, 0]
        setattr(cls, method_name, _timed(table, name, getattr(cls, method_name)))
    _time_collections(table)
    threads: dict[int, str] = {}
    original_start = threading.Thread.start

    def start(thread: threading.Thread) -> None:
        original_start(thread)
        threads[thread.native_id or 0] = thread.name

    threading.Thread.start = start  # type: ignore[method-assign]

    def write() -> None:
        names = {str(k): v for k, v in threads.items()}
        (config.run_dir / "parts.json").write_text(json.dumps({"parts": table, "threads": names}))

    atexit.register(write)  # the worker ends with os._exit, after the atexit handlers
    worker_entry(config, events, commands, stop_flag)


def _cpu_by_task(pids: list[int]) -> dict[tuple[int, int], float]:
    """CPU seconds of every thread of ``pids``, by (pid, thread id)."""
    tick = os.sysconf("SC_CLK_TCK")
    seen = {}
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                text = Path(f"/proc/{pid}/task/{task}/stat").read_text()
            except OSError:
                continue
            fields = text.rsplit(")", 1)[1].split()
            seen[(pid, int(task))] = (int(fields[11]) + int(fields[12])) / tick
    return seen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400_000)
    args = parser.parse_args()
    from tetris_tui.proctree import descendants
    from tetris_tui.runs.runlock import RunLock
    from tetris_tui.session.spawned import TrainingSession

    run = Path(tempfile.mkdtemp(prefix="tetris-profile-")) / "run"
    config = Config(
        total_timesteps=args.steps, seed=7, device="cpu", run_dir=run, checkpoint_every=10**9
    )
    session = TrainingSession()
    session._spawn(timed_worker, (config,), RunLock(run))
    worker = session.pid
    done, cpu, kinds = False, {}, Counter()
    while not done:
        for event in session.drain(max_items=1000):
            kinds[type(event).__name__] += 1
            done = done or (isinstance(event, Status) and event.state in TERMINAL_STATES)
        if worker is not None:
            cpu.update(_cpu_by_task([worker, *descendants(worker)]))
        time.sleep(0.2)
    session.stop(timeout=60)
    written = json.loads((run / "parts.json").read_text())
    table, names = written["parts"], written["threads"]
    learn = table["OnPolicyAlgorithm.learn"][0]
    print(f"steps={args.steps} learn (training thread) {learn:.2f} CPU-s")
    print(f"{'ms':>9} {'% learn':>8} {'calls':>8}  part")
    for name, (seconds, calls) in sorted(table.items(), key=lambda kv: -kv[1][0]):
        print(f"{seconds * 1000:9.1f} {100 * seconds / learn:8.2f} {calls:8d}  {name}")
    print("events received:", ", ".join(f"{kind} {n}" for kind, n in kinds.most_common()))
    print("CPU-s by thread, whole life (start-up included):")
    for (pid, task), seconds in sorted(cpu.items(), key=lambda kv: -kv[1]):
        if seconds > 0:
            who = "worker" if pid == worker else f"child {pid}"
            name = "main" if task == pid else names.get(str(task), f"thread {task}")
            print(f"{seconds:9.2f}  {who}: {name}")

    return 0


if __name__ == "__main__":
    sys.exit(main())
