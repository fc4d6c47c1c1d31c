"""``--tensorboard`` and ``--csv``: SB3's logger, the tetris figures, one curve across a resume.

A real trainer (placement env, tiny rollouts) writes the event files; they are
read back with TensorBoard's own EventAccumulator. The spectator's games reach
the logger the same way as the evaluations (on their way to the UI), but the
spectator is a niced process that a busy machine may starve for minutes, so
its figures are checked on the logging callback itself, with a real SB3 logger.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import collect_until, of_kind

from tetris_tui import protocol as p
from tetris_tui.config import Config, EnvConfig, PPOConfig
from tetris_tui.session.spawned import TrainingSession

pytestmark = pytest.mark.slow

ROLLOUT = 16 * 64
SB3_TAGS = {
    "rollout/ep_rew_mean",
    "rollout/ep_len_mean",
    "time/fps",
    "train/value_loss",
    "train/entropy_loss",
    "train/approx_kl",
}
TETRIS_TAGS = {
    "tetris/lines_mean_100",
    "tetris/pieces_mean_100",
    "tetris/eval_lines_mean",
}


def tb_config(run_dir: Path, tb: Path, **changes: object) -> Config:
    base = Config(
        total_timesteps=10_000_000,
        n_envs=16,
        run_dir=run_dir,
        checkpoint_every=1_000_000,
        fps=0.0,
        view="off",  # no spectator: its figures are tested on their own below
        seed=1,
        device="cpu",
        eval_every=2 * ROLLOUT,
        eval_games=1,
        tensorboard=str(tb),
        csv=True,
        env=EnvConfig(kind="placement", max_pieces=200),
        ppo=PPOConfig(n_steps=64, batch_size=256, n_epochs=1, greedy_average_steps=0),
    )
    return base.replace(**changes)


def scalars(folder: Path) -> dict[str, list[int]]:
    """Each scalar tag's steps, in the order TensorBoard reads them (all event files)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(folder))
    accumulator.Reload()
    return {
        tag: [event.step for event in accumulator.Scalars(tag)]
        for tag in accumulator.Tags()["scalars"]
    }


def train_until(config: Config, done) -> list[p.Event]:
    session = TrainingSession()
    session.start(config)
    try:
        events = collect_until(session, done, timeout=240)
        session.stop(timeout=30)
        events.extend(session.drain())
    finally:
        session.stop(timeout=10)
    return events


def evaluation_then_two_rollouts(events: list[p.Event]) -> bool:
    """An evaluation, then two rollouts (so it is in a dump, with the train/* figures)."""
    steps, mark = 0, None
    for event in events:
        if isinstance(event, p.Metrics):
            steps = event.timesteps
            if mark is not None and steps >= mark + 2 * ROLLOUT:
                return True
        if mark is None and isinstance(event, p.Evaluation):
            mark = steps
    return False


def test_a_resumed_run_continues_the_same_tensorboard_curve(tmp_path):
    run, tb = tmp_path / "run", tmp_path / "tb"
    first = train_until(tb_config(run, tb), evaluation_then_two_rollouts)
    assert of_kind(first, p.Status)[-1].state == p.STOPPED
    folder = tb / "run"
    assert [path.name for path in tb.iterdir()] == ["run"]  # no PPO_1, PPO_2...
    before = scalars(folder)
    assert set(before) >= SB3_TAGS | TETRIS_TAGS, sorted(before)
    stopped_at = max(before["time/fps"])

    total = stopped_at + 3 * ROLLOUT
    second = train_until(
        tb_config(run, tb, total_timesteps=total),
        lambda events: any(isinstance(e, p.Status) and e.state == p.FINISHED for e in events),
    )
    assert any(isinstance(e, p.Info) and "resuming" in e.text for e in second)
    assert [path.name for path in tb.iterdir()] == ["run"]
    assert len(list(folder.glob("events.out.tfevents.*"))) == 2  # one file per session
    after = scalars(folder)
    steps = after["time/fps"]
    assert steps[: len(before["time/fps"])] == before["time/fps"]
    resumed = steps[len(before["time/fps"]) :]
    assert resumed and resumed[0] > stopped_at and resumed[-1] >= total  # carries on, no reset
    assert steps == sorted(steps)
    assert max(after["tetris/lines_mean_100"]) >= total  # the tetris figures carried on too

    with open(run / "progress.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    written = [int(row["time/total_timesteps"]) for row in rows]
    assert written == steps  # the CSV kept the first session's rows too
    assert {"train/value_loss", "tetris/lines_mean_100"} <= set(rows[0])


def test_a_missing_tensorboard_is_one_line_before_anything_starts(tmp_path):
    """With tensorboard not importable: one clear line, exit 2, no run directory made."""
    hide = (
        "import sys\n"
        "sys.modules['tensorboard'] = None  # as if not installed: find_spec says None\n"
        "from tetris_tui.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    run = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-c", hide, "--headless", "--checkpoints", str(run)]
        + ["--tensorboard", str(tmp_path / "tb")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "tetris-tui: error: --tensorboard needs TensorBoard, which is not installed: "
        "pip install 'tetris-tui[tensorboard]'"
    ]
    assert not run.exists() and not (tmp_path / "tb").exists()


def test_two_runs_of_one_name_never_share_a_tensorboard_folder(tmp_path):
    from tetris_tui.worker.tb_logging import tensorboard_folder

    tb = tmp_path / "tb"
    first = tensorboard_folder(Config(run_dir=tmp_path / "a" / "run", tensorboard=str(tb)))
    again = tensorboard_folder(Config(run_dir=tmp_path / "a" / "run", tensorboard=str(tb)))
    other = tensorboard_folder(Config(run_dir=tmp_path / "b" / "run", tensorboard=str(tb)))
    assert first == again == tb / "run"
    assert other is not None and other.parent == tb and other.name.startswith("run-")
    assert tensorboard_folder(Config(run_dir=tmp_path / "b" / "run", tensorboard=str(tb))) == other


def test_the_spectators_games_reach_tensorboard(tmp_path):
    """SpectatorGame and Evaluation events, sent through the reporting callback's sink,
    land under tetris/* at the next dump, averaged over the games of that dump."""
    from types import SimpleNamespace

    from tetris_tui.worker.game_stats import RollingGames
    from tetris_tui.worker.tb_logging import logging_callbacks

    sent: list[p.Event] = []
    model = SimpleNamespace(set_logger=lambda logger: setattr(model, "logger", logger))
    reporting = SimpleNamespace(games=RollingGames(), sink=SimpleNamespace(send=sent.append))
    config = Config(run_dir=tmp_path / "run", tensorboard=str(tmp_path / "tb"))
    [figures] = logging_callbacks(config, model, reporting)
    figures.model = model  # what SB3's init_callback does
    for lines in (10, 30):
        reporting.sink.send(p.SpectatorGame(0, lines, 100, 4096, 30))
    reporting.sink.send(p.Evaluation(4096, 1, 12.0, 12.0))
    assert len(sent) == 3  # every event still goes on to the UI
    figures.on_rollout_end()
    model.logger.dump(step=4096)
    figures.on_training_end()
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(tmp_path / "tb" / "run"))
    accumulator.Reload()
    values = {
        tag: [(e.step, e.value) for e in accumulator.Scalars(tag)]
        for tag in accumulator.Tags()["scalars"]
    }
    assert values["tetris/spectator_lines"] == [(4096, 20.0)]
    assert values["tetris/spectator_pieces"] == [(4096, 100.0)]
    assert values["tetris/eval_lines_mean"] == [(4096, 12.0)]
