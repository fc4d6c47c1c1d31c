"""``tetris-tui tune``: bad input is one line and exit 2; the space and the pieces, fast.

The studies themselves (real trainers) are in test_tune_study.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tetris_tui.tune import liveness
from tetris_tui.tune.objective import EvaluationTail, trainer_command
from tetris_tui.tune.space import (
    DEFAULT_SPACE,
    SpaceError,
    feasible,
    load_space_file,
    space_to_dict,
    to_cli,
    training_options,
)
from tetris_tui.tune.spec import TUNE_FILE, TuneSpec, study_label
from tetris_tui.tune.storage import StorageError, check_url, redact

CLI = [sys.executable, "-m", "tetris_tui"]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--workers", "0"], "--workers must be > 0"),
        (["--max-trials", "-1"], "--max-trials must be > 0"),
        (["--steps-per-trial", "10", "--minutes-per-trial", "1"], "not allowed with"),
        (["--minutes-per-trial", "0"], "--minutes-per-trial must be > 0"),
        (["--objective-games", "0"], "--objective-games must be > 0"),
        (["--sampler", "grid"], "invalid choice"),
        (["--storage", "redis://host/0"], "expected a database URL"),
        (["--storage", "postgresql://u:secret@127.0.0.1:1/db"], "cannot open --storage"),
        (["--space", "/nonexistent/space.toml"], "cannot read space file"),
        (["--trainer-args", "--seed 3"], "--seed is set by tune itself"),
        (["--trainer-args", "--n-envs 0"], "n_envs must be > 0"),
        (["--trainer-args=--no-such-option"], "unrecognized arguments"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, extra: list[str], expected: str):
    done = subprocess.run(
        [*CLI, "tune", str(tmp_path / "study"), "--headless", *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tetris-tui: error: "), done.stderr
    assert expected in lines[0]
    assert "secret" not in done.stderr  # a password never reaches the screen


def test_study_dir_that_is_a_file_is_refused(tmp_path: Path):
    path = tmp_path / "file"
    path.write_text("x")
    done = subprocess.run(
        [*CLI, "tune", str(path), "--headless"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "is not a directory" in done.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[checkpoints]\nlow = 1\nhigh = 2\n", "not a training option"),
        ("[learning_rate]\nlow = 0.1\n", "give low and high"),
        ("[learning_rate]\nlow = 0\nhigh = 1\nlog = true\n", "low > 0 with log"),
        ("[n_envs]\nlow = 1.5\nhigh = 8\n", "not a valid int"),
        ("[n_envs]\nchoices = []\n", "non-empty list"),
        ("[learning_rate]\nlow = 1\nhigh = 2\nstep = 1\n", "unknown key 'step'"),
        ("learning_rate = [", "space file"),
    ],
)
def test_bad_space_files(tmp_path: Path, text: str, expected: str):
    path = tmp_path / "space.toml"
    path.write_text(text)
    with pytest.raises(SpaceError, match=expected):
        load_space_file(path, training_options())


def test_space_files_toml_and_yaml_read_alike(tmp_path: Path):
    toml = tmp_path / "s.toml"
    toml.write_text(
        '[learning-rate]\nlow = 1e-3\nhigh = 1e-2\nlog = true\n[env]\nchoices = ["placement"]\n'
    )
    yaml = tmp_path / "s.yaml"
    yaml.write_text(
        "learning_rate: {low: 0.001, high: 0.01, log: true}\nenv: {choices: [placement]}\n"
    )
    known = training_options()
    assert load_space_file(toml, known) == load_space_file(yaml, known)
    assert [p.name for p in load_space_file(toml, known)] == ["learning_rate", "env"]


def test_default_space_is_all_real_options_and_each_point_a_valid_command_line():
    """Every point the default space can draw parses as ``--headless`` options and
    makes a valid Config (the minibatch clamped to the rollout)."""
    from tetris_tui.cli_options import OneLineParser, add_training_options, config_from_args
    from tetris_tui.config import Config

    known = training_options()
    assert all(p.name in known for p in DEFAULT_SPACE)
    parser = OneLineParser(add_help=False)
    add_training_options(parser)
    defaults = Config()
    smallest = {p.name: (p.choices[0] if p.choices else p.low) for p in DEFAULT_SPACE}
    smallest["n_steps"], smallest["n_envs"], smallest["batch_size"] = 8, 64, 2048
    params = feasible(smallest, defaults.num_envs, defaults.ppo.n_steps)
    assert params["batch_size"] == 512  # 64 games x 8 steps
    config = config_from_args(parser.parse_args(to_cli(params)))
    assert config.ppo.batch_size == 512 and config.num_envs == 64
    assert json.loads(json.dumps(space_to_dict(DEFAULT_SPACE)))  # travels as JSON


def test_trainer_command_is_the_headless_cli(tmp_path: Path):
    spec = TuneSpec(study_dir=str(tmp_path), steps_per_trial=4096, eval_every=1024, seed=7)
    command = trainer_command(spec, tmp_path / "trial-0003", {"learning_rate": 0.005})
    assert command[1:4] == ["-m", "tetris_tui", "--headless"]
    assert command[-2:] == ["--learning-rate", "0.005"]
    assert "--eval-every" in command and "--seed" in command


def test_evaluation_tail_reads_only_new_whole_records(tmp_path: Path):
    events = tmp_path / "events.jsonl"
    events.write_text(
        '{"kind":"episode","lines":3}\n{"timesteps":1024,"games":3,"lines_mean":2.5,'
        '"lines_max":4,"kind":"evaluation"}\n{"timesteps":2048,"ga'
    )
    tail = EvaluationTail(tmp_path)
    assert tail.read() == [(1024, 2.5)]
    assert not tail.running
    with open(events, "a") as handle:  # the torn line is finished
        handle.write('mes":3,"lines_mean":7.0,"lines_max":9,"kind":"evaluation"}\n')
        handle.write('{"state":"running","timesteps":0,"message":"","kind":"status"}\n')
    assert tail.read() == [(2048, 7.0)]
    assert tail.running  # a --minutes-per-trial budget starts here
    assert tail.read() == []


def test_storage_urls_are_checked_and_redacted():
    check_url("postgresql://tune@db.example/optuna")
    with pytest.raises(StorageError):
        check_url("not a url")
    assert redact("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"
    assert redact("postgresql://u@h/db") == "postgresql://u@h/db"


def test_study_label_comes_from_tune_json(tmp_path: Path):
    assert study_label(tmp_path) is None
    (tmp_path / TUNE_FILE).write_text(json.dumps({"study": "s1", "trial": 7}))
    assert study_label(tmp_path) == "s1 #7"


def test_dead_workers_trial_fails_at_once_and_a_live_ones_does_not(tmp_path: Path):
    """The lock check: a trial whose worker's lock is free turns FAIL, with a reason."""
    from tetris_tui.tune.storage import load_study, open_storage

    study = load_study(open_storage(None, tmp_path), "s", create=True)
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; "
            "from tetris_tui.tune.liveness import WorkerLock; "
            "lock = WorkerLock(Path(sys.argv[1])); print(lock.path, flush=True); time.sleep(60)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lock_path = child.stdout.readline().strip()
        trials = []
        for _ in range(2):
            trial = study.ask()
            trial.set_user_attr("host", liveness.hostname())
            trial.set_user_attr("study_dir", str(tmp_path.resolve()))
            trial.set_user_attr("worker_lock", lock_path)
            trials.append(trial)
        assert liveness.fail_dead_trials(study, tmp_path) == []  # alive: untouched
        child.kill()
        child.wait(10)
        assert liveness.fail_dead_trials(study, tmp_path) == [0, 1]
    finally:
        child.kill()
        child.wait(10)
    states = {t.number: (t.state.name, t.user_attrs.get("fail_reason")) for t in study.trials}
    assert states == {0: ("FAIL", "its worker died"), 1: ("FAIL", "its worker died")}
    # An untagged trial (its worker died between ask and tag) fails only after the grace.
    untagged = study.ask()
    untagged.set_user_attr("host", liveness.hostname())
    untagged.set_user_attr("study_dir", str(tmp_path.resolve()))
    assert liveness.fail_dead_trials(study, tmp_path) == []
    later = time.time() + liveness.UNTAGGED_GRACE_S + 1
    assert liveness.fail_dead_trials(study, tmp_path, now=later) == [2]
