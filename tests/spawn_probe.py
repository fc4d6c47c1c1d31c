"""An app stand-in in its own process: it spawns a real trainer and reads its events,
for tests that stop it (SIGSTOP) as Ctrl+Z stops the app.

Prints ``pid N`` (the trainer's) once training runs. On SIGTERM it stops the
trainer (save), reads to the end, and prints one JSON line: every game number
it was given, in order, and how often it fell behind and read games back.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

from tetris_tui.config import Config, EnvConfig, PPOConfig
from tetris_tui.protocol import RUNNING, TERMINAL_STATES, Episode
from tetris_tui.session.spawned import TrainingSession


def main(run_dir: str, step_delay: str) -> None:
    asked: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _frame: asked.append(signum))  # a plain flag
    config = Config(
        run_dir=Path(run_dir),
        total_timesteps=1_000_000_000,
        n_envs=8,
        seed=1,
        device="cpu",
        step_delay=float(step_delay),
        env=EnvConfig(kind="placement"),
        ppo=PPOConfig(batch_size=128),
    )
    session = TrainingSession()
    session.start(config)
    games: list[int] = []
    announced = False
    while not asked and session.state not in TERMINAL_STATES:
        for event in session.drain(max_items=100_000):
            if isinstance(event, Episode):
                games.append(event.episode)
        if session.state == RUNNING and not announced:
            print(f"pid {session.pid}", flush=True)
            announced = True
        time.sleep(0.05)
    session.stop(timeout=60)
    games += [e.episode for e in session.drain(max_items=10**7) if isinstance(e, Episode)]
    print(json.dumps({"games": games, "resyncs": session.resyncs, "state": session.state}))


if __name__ == "__main__":
    main(*sys.argv[1:])
