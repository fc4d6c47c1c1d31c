"""A run means what it says (issue #11), through the real worker and real PPO.

Placement env: random play ends a game in ~20 placements, so 100 games (a full
window) take about 2,000 steps, a few seconds of training.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest
from conftest import collect_until, of_kind, small_config

from tetris_tui.config import EnvConfig, PPOConfig
from tetris_tui.protocol import (
    CRASHED,
    FINISHED,
    LATEST,
    PAUSED,
    RUNNING,
    STOPPED,
    Checkpoint,
    Episode,
    Error,
    Evaluation,
    Hello,
    Info,
    Metrics,
    Pause,
    Ping,
    Pong,
    SaveSlot,
    Status,
    Warning,
)
from tetris_tui.runs.runlog import EVENTS_FILE
from tetris_tui.session.spawned import TrainingSession
from tetris_tui.worker.game_stats import WINDOW

PLACEMENT = EnvConfig(kind="placement")


def placement_config(run_dir: Path, **changes: object):
    return small_config(run_dir, env=PLACEMENT, **changes)


def _state(events, *states):
    return any(isinstance(e, Status) and e.state in states for e in events)


def _ended(events):
    return _state(events, FINISHED, STOPPED, CRASHED)


def _logged_games(run_dir: Path) -> list[dict]:
    records = [json.loads(x) for x in (run_dir / EVENTS_FILE).read_text().splitlines()]
    return [r for r in records if r["kind"] == "episode"]


def _meta(run_dir: Path, which: str = LATEST) -> dict:
    return json.loads((run_dir / which / "meta.json").read_text())


def _run(run_dir: Path, timeout: float = 120, **changes: object) -> list:
    session = TrainingSession()
    try:
        session.start(placement_config(run_dir, **changes))
        return collect_until(session, _ended, timeout=timeout)
    finally:
        session.stop(timeout=15)


# -- 1. best and target on a full window, carried across resumes ------------------------


def test_best_is_judged_on_full_windows_only(run_dir):
    events = _run(run_dir, total_timesteps=4096)
    games = of_kind(events, Episode)
    assert len(games) > WINDOW + 20
    order = {id(e): i for i, e in enumerate(events)}
    bests = [c for c in of_kind(events, Checkpoint) if c.which == "best"]
    assert bests, "no best over a run of 100+ games"
    for best in bests:
        games_before = sum(1 for g in games if order[id(g)] < order[id(best)])
        assert games_before >= WINDOW, f"best saved after {games_before} games"
    meta = _meta(run_dir, "best")
    assert meta["window_games"] == WINDOW
    # The saved best is the mean of some 100 consecutive games the run really played.
    lines = [g["lines"] for g in _logged_games(run_dir)]
    windows = [sum(lines[i - WINDOW : i]) / WINDOW for i in range(WINDOW, len(lines) + 1)]
    assert any(w == pytest.approx(meta["best_lines_mean"]) for w in windows)


def test_target_waits_for_a_full_window(run_dir):
    events = _run(run_dir, total_timesteps=200_000, target_lines=0.01, timeout=180)
    finished = [e for e in of_kind(events, Status) if e.state == FINISHED]
    assert finished and "target" in finished[-1].message
    games = of_kind(events, Episode)
    assert len(games) >= WINDOW  # not after the first lucky game
    reached = [e for e in of_kind(events, Info) if "target reached" in e.text]
    assert len(reached) == 1
    final = _meta(run_dir, "final")
    assert final["window_games"] == WINDOW and final["lines_mean"] >= 0.01
    assert final["timesteps"] < 200_000


def test_resume_carries_the_window_and_numbers_games_on(run_dir):
    _run(run_dir, total_timesteps=3072)
    first = _meta(run_dir)
    assert first["episodes"] >= WINDOW and first["window_games"] == WINDOW

    events = _run(run_dir, total_timesteps=3072 + 1024)
    new_games = of_kind(events, Episode)
    assert new_games[0].episode == first["episodes"] + 1
    numbers = [g["episode"] for g in _logged_games(run_dir)]
    assert numbers == list(range(1, len(numbers) + 1))  # no gap, no number used twice
    # Early in the resumed run the window still holds the last session's games: its
    # mean is over 100 games that span the seam, not over the few new ones.
    lines = {g["episode"]: g["lines"] for g in _logged_games(run_dir)}
    early = [
        m
        for m in of_kind(events, Metrics)
        if first["episodes"] < m.episodes < first["episodes"] + 50
    ]
    assert early, "no metrics early in the resumed run"
    for tick in early:
        span = range(tick.episodes - WINDOW + 1, tick.episodes + 1)
        assert tick.lines_mean == pytest.approx(sum(lines[n] for n in span) / WINDOW)


def test_best_rises_only_when_the_save_succeeded(run_dir):
    """Unit: a failed save of ``best`` leaves the best mean where it was."""
    from tetris_tui.worker.callback import ReportingCallback
    from tetris_tui.worker.game_stats import RollingGames

    games = RollingGames(best_mean=0.5)
    for _ in range(WINDOW):
        games.lines.append(1)

    class FailingWriter:
        def save(self, model, which, best_mean=None):
            return None

    callback = ReportingCallback.__new__(ReportingCallback)
    callback.games, callback.writer, callback.model = games, FailingWriter(), None
    callback._save_best()
    assert games.best_mean == 0.5


# -- 2. resume honours the options given now ----------------------------------------------


def test_resume_trains_with_the_new_ppo_options(run_dir):
    from stable_baselines3 import PPO

    _run(run_dir, total_timesteps=512)
    assert _meta(run_dir)["ppo_in_use"]["learning_rate"] == pytest.approx(3e-4)
    new = PPOConfig(n_steps=128, batch_size=32, n_epochs=3, learning_rate=1e-3, ent_coef=0.05)
    _run(run_dir, total_timesteps=1024, ppo=new)
    meta = _meta(run_dir)
    model = PPO.load(run_dir / LATEST / "model.zip", device="cpu")
    assert model.learning_rate == pytest.approx(1e-3)
    assert model.ent_coef == pytest.approx(0.05)
    assert (model.n_epochs, model.batch_size) == (3, 32)
    # The optimizer really stepped with the new rate (SB3 sets it at each update).
    assert model.policy.optimizer.param_groups[0]["lr"] == pytest.approx(1e-3)
    assert meta["ppo_in_use"]["learning_rate"] == pytest.approx(1e-3)
    assert meta["ppo_in_use"]["ent_coef"] == pytest.approx(0.05)
    assert meta["config"]["ppo"]["learning_rate"] == pytest.approx(1e-3)


# -- 3. a checkpoint is one unit -------------------------------------------------------------


@pytest.fixture(scope="module")
def run_of_2048_steps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One finished run, trained once for the tests that each start from a copy."""
    run_dir = tmp_path_factory.mktemp("integrity") / "run"
    _run(run_dir, total_timesteps=2048)
    return run_dir


@pytest.mark.parametrize("stage", ["written", "swapping"])
def test_kill_in_a_save_leaves_a_whole_checkpoint(run_dir, monkeypatch, stage, run_of_2048_steps):
    from stable_baselines3 import PPO

    shutil.copytree(run_of_2048_steps, run_dir, dirs_exist_ok=True)
    before = _meta(run_dir)
    assert before["timesteps"] == 2048
    monkeypatch.setenv("TETRIS_TUI_FAULT", f"kill-in-save:{stage}")
    session = TrainingSession()
    try:
        session.start(placement_config(run_dir, total_timesteps=8192, checkpoint_every=512))
        events = collect_until(session, _ended, timeout=120)
    finally:
        session.stop(timeout=15)
    assert "killed by SIGKILL" in of_kind(events, Status)[-1].message
    if stage == "written":
        assert _meta(run_dir) == before  # the old checkpoint was never touched
    else:
        assert not (run_dir / LATEST).exists()  # cut between the two renames
        assert [p for p in run_dir.iterdir() if p.name.startswith(".latest.")]
    monkeypatch.delenv("TETRIS_TUI_FAULT")

    # The next run puts back a whole checkpoint: model and meta from one save.
    logged_before = max(g["episode"] for g in _logged_games(run_dir))
    events = _run(run_dir, total_timesteps=2048 + 512 + 256)
    meta = _meta(run_dir)
    model = PPO.load(run_dir / LATEST / "model.zip", device="cpu")
    assert model.num_timesteps == meta["timesteps"]
    resumed_at = [e for e in of_kind(events, Status) if e.state == RUNNING][0].timesteps
    # "written": the old one stayed; "swapping": the new one was whole, so it wins.
    assert resumed_at == (before["timesteps"] if stage == "written" else 2048 + 512)
    assert of_kind(events, Episode)[0].episode == logged_before + 1  # no number reused
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".latest.")]


# -- 4. stop within 2 s wherever the worker is ----------------------------------------------


def _stop_latency(session: TrainingSession, events: list | None = None) -> float:
    """Seconds from a stop request to STOPPED; what arrived meanwhile goes into ``events``."""
    started = time.monotonic()
    session.request_stop()
    collect_until(session, lambda ev: _state(ev, STOPPED), timeout=30, seen=events)
    return time.monotonic() - started


def _wait_for_metrics_to_pause(session: TrainingSession, events: list, quiet: float = 1.0) -> None:
    """Until no metrics came for ``quiet`` seconds (they come 10 times a second)."""
    deadline = time.monotonic() + 60
    last = time.monotonic()
    while time.monotonic() < deadline:
        batch = session.drain()
        events += batch
        now = time.monotonic()
        if of_kind(batch, Metrics):
            last = now
        elif now - last >= quiet:
            return
        time.sleep(0.05)
    raise AssertionError("metrics never paused: no evaluation ran")


def test_stop_is_obeyed_within_two_seconds_in_an_evaluation(run_dir):
    session = TrainingSession()
    # 5,000 greedy games per evaluation: batched, even a barely trained policy's take
    # many seconds (400 once ended within a second of training pausing on a fast
    # machine, before the stop came). The stop comes in the first that pauses training.
    ppo = PPOConfig(n_steps=128, batch_size=64, n_epochs=2, learning_rate=1e-2)
    try:
        session.start(placement_config(run_dir, eval_every=1024, eval_games=5000, ppo=ppo))
        events = collect_until(session, lambda ev: of_kind(ev, Metrics), timeout=60)
        _wait_for_metrics_to_pause(session, events)  # training waits for the evaluation
        finished_before = len(of_kind(events, Evaluation))
        assert _stop_latency(session, events) < 2.0
    finally:
        session.stop(timeout=15)
    assert (run_dir / LATEST / "model.zip").is_file()
    # The evaluation it was in was cut short: it reported no result.
    assert len(of_kind(events, Evaluation)) == finished_before


@pytest.mark.parametrize("where", ["training", "paused"])
def test_stop_is_obeyed_within_two_seconds(run_dir, where):
    session = TrainingSession()
    try:
        session.start(placement_config(run_dir))
        collect_until(session, lambda ev: _state(ev, RUNNING), timeout=60)
        time.sleep(1.5)  # through several PPO updates
        if where == "paused":
            session.send(Pause())
            collect_until(session, lambda ev: _state(ev, PAUSED), timeout=10)
        assert _stop_latency(session) < 2.0
    finally:
        session.stop(timeout=15)
    assert (run_dir / LATEST / "model.zip").is_file()


# -- 5. a finished run is left untouched ------------------------------------------------------


def test_a_finished_run_is_left_untouched(run_dir):
    _run(run_dir, total_timesteps=512)
    saved = [p for name in ("latest", "final") for p in (run_dir / name).iterdir()]
    files = {p: p.read_bytes() for p in saved}
    events = _run(run_dir, total_timesteps=512)
    finished = [e for e in of_kind(events, Status) if e.state == FINISHED]
    assert finished and "finished at 512 timesteps" in finished[-1].message
    assert "--total-timesteps" in finished[-1].message
    assert not of_kind(events, Checkpoint)
    for path, data in files.items():
        assert path.read_bytes() == data, path


# -- 6. commands from any thread, each exactly once ------------------------------------------


def test_commands_from_many_threads_arrive_exactly_once(session, run_dir):
    from tetris_tui.protocol import PROTOCOL_VERSION

    session.start(placement_config(run_dir))
    first = collect_until(session, lambda ev: _state(ev, RUNNING), timeout=60)
    # 9. The first event says which protocol the worker speaks, and who it is.
    assert isinstance(first[0], Hello) and first[0].protocol == PROTOCOL_VERSION
    assert first[0].pid == session.pid and first[0].role == "train"
    threads, per_thread = 4, 750

    def send(base: int) -> None:
        for i in range(per_thread):
            session.send(Ping(base + i))

    workers = [threading.Thread(target=send, args=(t * 100_000,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    expected = sorted(t * 100_000 + i for t in range(threads) for i in range(per_thread))
    events = collect_until(session, lambda ev: len(of_kind(ev, Pong)) >= len(expected), timeout=60)
    time.sleep(0.5)
    events += session.drain()
    assert sorted(p.token for p in of_kind(events, Pong)) == expected


# -- 8. slots are never overwritten unasked, and replaced as one unit -----------------------


def test_save_slot_never_overwrites_unless_told(session, run_dir):
    from stable_baselines3 import PPO

    session.start(placement_config(run_dir))
    collect_until(session, lambda ev: _state(ev, RUNNING), timeout=60)
    session.send(SaveSlot("keep"))
    events = collect_until(
        session, lambda ev: any(c.which == "keep" for c in of_kind(ev, Checkpoint)), timeout=30
    )
    slot = run_dir / "slots" / "keep"
    first = (slot / "model.zip").read_bytes()
    time.sleep(0.5)
    session.send(SaveSlot("keep"))
    events = collect_until(session, lambda ev: of_kind(ev, Warning), timeout=30)
    assert "exists already" in of_kind(events, Warning)[0].text
    assert (slot / "model.zip").read_bytes() == first
    session.send(SaveSlot("keep", overwrite=True))
    events = collect_until(
        session, lambda ev: any(c.which == "keep" for c in of_kind(ev, Checkpoint)), timeout=30
    )
    replaced = PPO.load(slot / "model.zip", device="cpu")
    assert (slot / "model.zip").read_bytes() != first
    assert replaced.num_timesteps == json.loads((slot / "meta.json").read_text())["timesteps"]


# -- 9. the protocol version travels first ---------------------------------------------------


def test_a_worker_of_another_protocol_is_one_clear_line(session, run_dir, monkeypatch):
    monkeypatch.setenv("TETRIS_TUI_FAULT", "protocol:99")
    session.start(placement_config(run_dir))
    events = collect_until(session, lambda ev: _state(ev, CRASHED), timeout=60)
    errors = of_kind(events, Error)
    assert len(errors) == 1 and "\n" not in errors[0].message
    assert "protocol 99" in errors[0].message
    assert not of_kind(events, Metrics)  # nothing it says after is taken at face value
    deadline = time.monotonic() + 30
    while session.alive and time.monotonic() < deadline:
        session.drain()
        time.sleep(0.1)
    assert not session.alive  # it was asked to stop, and did
