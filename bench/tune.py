"""What a study costs a trial: training speed inside ``tune`` vs a plain ``--headless``.

Each round starts a one-trial study (``tetris-tui tune``, no pruning, a space
of one point) and, as soon as its trainer starts, a plain ``tetris-tui
--headless`` with the very same command line, both pinned to one shared core,
so the machine's noise hits both alike. Each side's speed is the median of the
trainer's own ``steps/s`` lines (the same printer writes both: the trial's go
to ``tune-trainer.log``). The trial side carries the runner and the worker
polling Optuna and ``events.jsonl``: that is the overhead measured.

Also: a trial's fixed cost (start-up, the scoring games, Optuna) from the
same rounds, so ``trials_per_hour`` at the default budget (2,000,000 steps)
on this machine is fixed cost + budget / speed, for one worker per 2 cores;
and with ``--storage`` the journal-vs-SQLite measurement behind the default.

    python bench/tune.py [--steps N] [--rounds R] [--storage]

Last line: ``tune: trial_ratio=… trials_per_hour=… …`` (goal: trial_ratio >= 0.95).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cores import pick_shared_core

from tetris_tui.tune.objective import TRAINER_LOG, trainer_command
from tetris_tui.tune.spec import DEFAULT_STEPS, EVALS_PER_TRIAL, TuneSpec

CLI = [sys.executable, "-m", "tetris_tui"]
_SPS = re.compile(r"^\s*[\d,]+ steps\s+([\d,]+) steps/s", re.MULTILINE)
# One point: the default's own settings, so both sides train exactly alike.
SPACE = "[learning_rate]\nchoices = [0.01]\n"


def speeds(text: str) -> list[float]:
    """The trainer's steps/s lines, less the first two (start-up)."""
    return [float(m.replace(",", "")) for m in _SPS.findall(text)][2:]


def one_round(root: Path, steps: int, core: int | None) -> dict[str, float]:
    study = root / "study"
    space = root / "space.toml"
    space.write_text(SPACE)
    eval_every = max(1, steps // EVALS_PER_TRIAL)

    def pin() -> None:
        if core is not None:
            os.sched_setaffinity(0, {core})

    started = time.monotonic()
    tune = subprocess.Popen(
        [*CLI, "tune", str(study), "--max-trials", "1", "--workers", "1", "--pruner", "none",
         "--steps-per-trial", str(steps), "--eval-every", str(eval_every), "--seed", "1",
         "--space", str(space), "--headless"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=pin,
    )  # fmt: skip
    trial = study / "trial-0000"
    while not (trial / TRAINER_LOG).exists() and tune.poll() is None:
        time.sleep(0.05)
    spec = TuneSpec(study_dir=str(root), steps_per_trial=steps, eval_every=eval_every, seed=1)
    command = trainer_command(spec, root / "plain", {"learning_rate": 0.01})
    plain = subprocess.run(command, capture_output=True, text=True, preexec_fn=pin)
    out, _ = tune.communicate()
    ended = time.monotonic()
    trial_speeds = speeds((trial / TRAINER_LOG).read_text())
    plain_speeds = speeds(plain.stdout)
    if not trial_speeds or not plain_speeds or "1 complete" not in out:
        raise SystemExit(f"bench/tune.py: a side did not train:\n{out}\n{plain.stdout[-2000:]}")
    trial_sps = statistics.median(trial_speeds)
    # Fixed cost: the trial's wall time less its training at its own speed.
    return {
        "trial_sps": trial_sps,
        "plain_sps": statistics.median(plain_speeds),
        "fixed_s": max(0.0, (ended - started) - steps / trial_sps),
    }


def storage_compare(workers: int, trials: int, reports: int) -> dict[str, float]:
    """Trials/s of ``workers`` processes asking, reporting and telling on each storage."""
    results = {}
    for kind in ("journal", "sqlite"):
        with tempfile.TemporaryDirectory() as directory:
            results[kind] = _storage_run(kind, Path(directory), workers, trials, reports)
    return results


def _storage_run(kind: str, directory: Path, workers: int, trials: int, reports: int) -> float:
    from tetris_tui.tune.storage import load_study, open_storage

    url = None if kind == "journal" else f"sqlite:///{directory / 'study.db'}"
    load_study(open_storage(url, directory), "bench", create=True)
    context = multiprocessing.get_context("spawn")
    started = time.monotonic()
    processes = [
        context.Process(target=_storage_worker, args=(url, str(directory), trials, reports))
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return workers * trials / (time.monotonic() - started)


def _storage_worker(url: str | None, directory: str, trials: int, reports: int) -> None:
    from tetris_tui.tune.storage import load_study, open_storage

    study = load_study(open_storage(url, Path(directory)), "bench")
    for _ in range(trials):
        trial = study.ask()
        x = trial.suggest_float("x", 0, 1)
        for step in range(reports):
            trial.report(x * step, step)
            trial.should_prune()
        study.tell(trial, x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300_000, help="per side and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--storage", action="store_true", help="also journal vs SQLite")
    args = parser.parse_args()
    extra = ""
    if args.storage:
        for workers in (2, 4, 8):
            rates = storage_compare(workers, 25, 10)
            print(
                f"storage, {workers} workers x 25 trials x 10 reports: "
                f"journal {rates['journal']:.1f} trials/s, sqlite {rates['sqlite']:.1f} trials/s",
                flush=True,
            )
            extra += (
                f" journal{workers}={rates['journal']:.1f} sqlite{workers}={rates['sqlite']:.1f}"
            )
    core = pick_shared_core()
    rounds = []
    for index in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="bench-tune-") as directory:
            result = one_round(Path(directory), args.steps, core)
        rounds.append(result)
        print(
            f"round {index + 1}: trial {result['trial_sps']:,.0f} steps/s, "
            f"plain {result['plain_sps']:,.0f} steps/s, "
            f"ratio {result['trial_sps'] / result['plain_sps']:.3f}, "
            f"fixed cost {result['fixed_s']:.1f} s",
            flush=True,
        )
    ratio = statistics.median(r["trial_sps"] / r["plain_sps"] for r in rounds)
    fixed = statistics.median(r["fixed_s"] for r in rounds)
    # Unpinned, a trial trains on the whole machine: its speed is the plain run's alone.
    alone = _alone_speed(args.steps)
    workers = max(1, (os.cpu_count() or 2) // 2)
    per_hour = workers * 3600 / (fixed + DEFAULT_STEPS / (alone * ratio))
    print(
        f"a trial at the default budget ({DEFAULT_STEPS:,} steps): {fixed:.0f} s fixed + "
        f"{DEFAULT_STEPS / (alone * ratio):.0f} s training at {alone * ratio:,.0f} steps/s; "
        f"{workers} worker(s) on {os.cpu_count()} cores",
        flush=True,
    )
    print(
        f"tune: trial_ratio={ratio:.3f} trials_per_hour={per_hour:.1f} fixed_s={fixed:.1f} "
        f"alone_sps={alone:.0f} rounds={args.rounds} steps={args.steps} "
        f"cores={os.cpu_count()}{extra}"
    )


def _alone_speed(steps: int) -> float:
    """A plain ``--headless`` with the machine to itself (one worker per 2 cores)."""
    with tempfile.TemporaryDirectory(prefix="bench-tune-") as directory:
        spec = TuneSpec(study_dir=directory, steps_per_trial=steps, eval_every=steps // 5, seed=1)
        command = trainer_command(spec, Path(directory) / "plain", {"learning_rate": 0.01})
        out = subprocess.run(command, capture_output=True, text=True).stdout
    found = speeds(out)
    if not found:
        raise SystemExit(f"bench/tune.py: the plain run did not train:\n{out[-2000:]}")
    return statistics.median(found)


if __name__ == "__main__":
    main()
