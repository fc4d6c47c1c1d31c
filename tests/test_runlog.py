"""Unit tests: the run log (events.jsonl), its history, and the window a resume restores."""

from __future__ import annotations

from checkpoint_helpers import FakeModel

from tetris_tui.protocol import Checkpoint, Episode, Status
from tetris_tui.runs.checkpoints import save_checkpoint
from tetris_tui.runs.runlog import EVENTS_FILE, RunLog, read_history, recent_games

# -- events.jsonl ------------------------------------------------------------------------------


def _episode(n: int) -> Episode:
    return Episode(
        episode=n, lines=n % 3, reward=1.5, pieces=10, length=40, timesteps=n * 40, time=1.0
    )


def test_runlog_round_trip(tmp_path):
    log = RunLog(tmp_path)
    for n in range(1, 6):
        log.append(_episode(n))
    save_checkpoint(FakeModel(200), tmp_path, "latest", {"timesteps": 200})
    log.append(Checkpoint("latest", str(tmp_path / "latest" / "model.zip"), 200))
    log.append(Status("stopped", 200))
    log.close()
    history = read_history(tmp_path)
    assert [e.episode for e in history.episodes] == [1, 2, 3, 4, 5]
    assert history.checkpoints[0].which == "latest"
    assert history.timesteps == 200


def test_read_history_tolerates_a_torn_last_line_and_foreign_records(tmp_path):
    log = RunLog(tmp_path)
    for n in range(1, 4):
        log.append(_episode(n))
    log.close()
    with open(tmp_path / EVENTS_FILE, "a") as handle:
        handle.write('{"kind":"episode","episode":99,"future_field":1}\n')  # newer protocol
        handle.write("not json at all\n")
        handle.write('{"kind":"episode","episode":4,"lin')  # killed mid-write
    history = read_history(tmp_path)
    assert [e.episode for e in history.episodes] == [1, 2, 3]
    # The next worker appends after the torn line; reading still works.
    log = RunLog(tmp_path)
    log.append(_episode(5))
    log.close()
    assert [e.episode for e in read_history(tmp_path).episodes][-1] == 5


def test_read_history_reads_only_the_tail_of_a_long_log(tmp_path):
    log = RunLog(tmp_path)
    for n in range(1, 5001):
        log.append(_episode(n))
    log.close()
    assert (tmp_path / EVENTS_FILE).stat().st_size > 4 * 65536
    history = read_history(tmp_path, max_episodes=100)
    assert [e.episode for e in history.episodes] == list(range(4901, 5001))


def test_read_history_of_nothing(tmp_path):
    history = read_history(tmp_path / "none")
    assert history.episodes == [] and history.checkpoints == [] and history.timesteps == 0


def test_read_history_takes_timesteps_from_latest_meta(tmp_path):
    save_checkpoint(FakeModel(), tmp_path, "latest", {"timesteps": 777})
    assert read_history(tmp_path).timesteps == 777


def test_read_history_timesteps_are_where_training_goes_on_not_a_lost_tail(tmp_path):
    """Games past ``latest`` (a kill after the save) were never saved: a reopened
    run shows latest's timesteps, which is where a start resumes from."""
    log = RunLog(tmp_path)
    for n in range(1, 11):
        log.append(_episode(n))  # games 6-10 come after the save at 200
    log.close()
    save_checkpoint(FakeModel(200), tmp_path, "latest", {"timesteps": 200})
    history = read_history(tmp_path)
    assert history.episodes[-1].timesteps == 400
    assert history.timesteps == 200
    (tmp_path / "latest" / "meta.json").unlink()  # no checkpoint: a start begins at 0
    assert read_history(tmp_path).timesteps == 0


def _branch(log: RunLog, start: int, numbers: range) -> None:
    """One trainer's life as it records it: started, running from ``start``, its games."""
    log.append(Status("starting", 0))
    log.append(Status("running", start))
    for k, n in enumerate(numbers, 1):
        log.append(
            Episode(
                episode=n,
                lines=n % 4,
                reward=1.0,
                pieces=n,
                length=n,
                timesteps=start + 10 * k,
                time=1.0,
            )
        )


def test_a_resumed_window_leaves_out_the_games_of_a_branch_never_saved(tmp_path):
    """Two kills: each trainer played on past its last save; the next one resumed
    from that save and numbered its games after the lost ones."""
    log = RunLog(tmp_path)
    _branch(log, 0, range(1, 16))  # latest saved at 100 after game 10; 11-15 lost
    log.append(Status("crashed", 0))
    _branch(log, 100, range(16, 24))  # resumed at 100; saved at 150 after game 20; 21-23 lost
    log.close()
    found = recent_games(tmp_path, 100, upto=20)
    assert [g.episode for g in found.games] == [*range(1, 11), *range(16, 21)]
    assert found.last_number == 23  # numbering still goes on after every game
    assert [g.episode for g in recent_games(tmp_path, 3, upto=20).games] == [18, 19, 20]


def test_a_window_starts_again_with_a_fresh_model(tmp_path):
    log = RunLog(tmp_path)
    _branch(log, 0, range(1, 6))  # no save kept: the next trainer starts fresh at 0
    _branch(log, 0, range(6, 9))
    log.close()
    assert [g.episode for g in recent_games(tmp_path, 100, upto=8).games] == [6, 7, 8]


def test_pause_and_resume_within_a_trainer_keep_its_whole_window(tmp_path):
    log = RunLog(tmp_path)
    _branch(log, 0, range(1, 4))
    log.append(Status("paused", 30))
    log.append(Status("running", 30))
    log.append(Episode(episode=4, lines=0, reward=1.0, pieces=1, length=1, timesteps=40, time=1.0))
    log.close()
    assert [g.episode for g in recent_games(tmp_path, 100, upto=4).games] == [1, 2, 3, 4]
