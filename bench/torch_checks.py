"""What torch's argument checks cost training, and proof they change no number.

``configure_torch`` turns off ``torch.distributions``' argument checks in the
workers. This trains the same config and seed twice, checks on and checks off,
at the same time and pinned to the same core (the scheduler interleaves them
every few milliseconds, so the machine's drift hits both alike), and compares
timesteps per CPU-second. Training is deterministic here, so both sides must
end with bit-identical weights: the bench says so, or fails.

    python bench/torch_checks.py [--steps N] [--rounds R] [--env placement|raw]

Last line: ``speedup=…`` (median over rounds of off ÷ on).
"""

from __future__ import annotations

import argparse
import hashlib
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


def learn(config: Config, checks: bool, result: Any) -> None:
    """Bare ``model.learn()``; reports steps, CPU seconds and a digest of the weights."""
    import torch

    from tetris_tui.worker.model_factory import build_vec_env, configure_torch, new_model

    configure_torch(config)
    torch.distributions.Distribution.set_default_validate_args(checks)
    venv = build_vec_env(config)
    model = new_model(config, venv)
    started = time.process_time()
    model.learn(config.total_timesteps)
    cpu_s = time.process_time() - started
    digest = hashlib.sha256()
    for tensor in model.policy.state_dict().values():
        digest.update(tensor.cpu().numpy().tobytes())
    result.put((checks, model.num_timesteps, cpu_s, digest.hexdigest()))
    venv.close()


def run_round(config: Config, core: int | None) -> dict[bool, tuple[int, float, str]]:
    context = multiprocessing.get_context("spawn")
    result = context.Queue()
    sides = [
        context.Process(target=learn, args=(config, checks, result)) for checks in (True, False)
    ]
    for side in sides:
        side.start()
        if core is not None:
            os.sched_setaffinity(side.pid, {core})
    outcome = {}
    for _ in sides:
        checks, steps, cpu_s, digest = result.get()
        outcome[checks] = (steps, cpu_s, digest)
    for side in sides:
        side.join()
    return outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8_192)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--env", choices=("placement", "raw"), default=Config().env.kind)
    args = parser.parse_args()
    core = pick_shared_core()
    with tempfile.TemporaryDirectory() as tmp:
        config = Config(
            total_timesteps=args.steps,
            n_envs=Config().n_envs,
            seed=3,
            device="cpu",
            env=EnvConfig(kind=args.env),
            run_dir=Path(tmp),
        )
        print(f"env={args.env} n_envs={config.n_envs} steps={args.steps} shared core={core}")
        speedups = []
        for index in range(args.rounds):
            outcome = run_round(config, core)
            (steps_on, cpu_on, digest_on), (steps_off, cpu_off, digest_off) = (
                outcome[True],
                outcome[False],
            )
            if digest_on != digest_off:
                print("checks off changed the trained weights", file=sys.stderr)
                return 1
            on, off = steps_on / cpu_on, steps_off / cpu_off
            speedups.append(off / on)
            print(
                f"round {index + 1}: checks on {on:7.1f}, off {off:7.1f} steps per CPU-s; "
                f"same weights; speedup {speedups[-1]:.3f}"
            )
    print(f"speedup={statistics.median(speedups):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
