"""The study screen under Pilot, on a real study (journal storage) with a running,
a pruned and a complete trial, polled through the real Runner."""

from __future__ import annotations

import sys
from pathlib import Path

from textual.widgets import DataTable, Static

from tetris_tui.runs.checkpoints import write_checkpoint
from tetris_tui.tune import liveness
from tetris_tui.tune.objective import trial_dir
from tetris_tui.tune.runner import Runner
from tetris_tui.tune.screen import StudyApp
from tetris_tui.tune.spec import TuneSpec
from tetris_tui.tune.storage import load_study, open_storage
from tetris_tui.ui.screens.models import ModelsScreen


def _tag(trial, study_dir: Path, lock: liveness.WorkerLock) -> Path:
    run_dir = trial_dir(study_dir, trial.number)
    run_dir.mkdir(parents=True)
    for key, value in (
        ("host", liveness.hostname()),
        ("study_dir", str(study_dir.resolve())),
        ("run_dir", str(run_dir.resolve())),
        ("worker_lock", str(lock.path)),
        ("timesteps", 2048),
    ):
        trial.set_user_attr(key, value)
    return run_dir


def _study(study_dir: Path, lock: liveness.WorkerLock) -> tuple[Path, Path]:
    """Trial 0 complete (with a saved model), 1 pruned, 2 running (its worker: us)."""
    study = load_study(open_storage(None, study_dir), "tetris-tui", create=True)
    complete = study.ask()
    complete.suggest_float("learning_rate", 1e-3, 1e-2, log=True)
    done_dir = _tag(complete, study_dir, lock)
    write_checkpoint(done_dir / "final", b"not a real zip", {"timesteps": 2048, "lines_mean": 1.0})
    complete.report(4.0, 1024)
    study.tell(complete, 12.5)
    pruned = study.ask()
    pruned.suggest_float("learning_rate", 1e-3, 1e-2, log=True)
    _tag(pruned, study_dir, lock)
    pruned.report(0.0, 1024)
    study.tell(pruned, state=__import__("optuna").trial.TrialState.PRUNED)
    running = study.ask()
    running.suggest_float("learning_rate", 1e-3, 1e-2, log=True)
    return done_dir, _tag(running, study_dir, lock)


async def test_study_screen_shows_trials_best_and_plot_and_opens_them(tmp_path: Path):
    study_dir = tmp_path / "study"
    study_dir.mkdir()
    lock = liveness.WorkerLock(study_dir)
    try:
        done_dir, running_dir = _study(study_dir, lock)
        runner = Runner(TuneSpec(study_dir=str(study_dir)))
        app = StudyApp(runner.poll, "tetris-tui", poll_seconds=0.2)
        async with app.run_test(size=(120, 36)) as pilot:
            table = app.query_one(DataTable)
            for _ in range(100):
                await pilot.pause(0.05)
                if table.row_count == 3:
                    break
            assert table.row_count == 3
            rows = [[str(c) for c in table.get_row_at(i)] for i in range(3)]
            assert [r[1] for r in rows] == ["complete", "pruned", "running"]
            assert rows[0][2] == "12.50" and rows[1][2] == "-" and rows[2][2] == "-"
            assert rows[2][3] == "2,048" and rows[2][4] == liveness.hostname()
            assert rows[0][5].startswith("learning_rate=")
            best = str(app.query_one("#best", Static).render())
            assert "1 running, 1 complete, 1 pruned" in best
            assert "best: trial 0, 12.50" in best
            plot = str(app.query_one("#plot", Static).render())
            assert any(0x2800 < ord(ch) <= 0x28FF for ch in plot), plot
            # Enter on the running trial: the existing attach, on its run directory.
            table.move_cursor(row=2)
            await pilot.press("enter")
            assert app.opened == [
                [sys.executable, "-m", "tetris_tui", "attach", "--checkpoints", str(running_dir)]
            ]
            # Enter on a finished one: its models.
            table.move_cursor(row=0)
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, ModelsScreen)
            assert app.screen.run_dir == done_dir.resolve()
            assert [r.name for r in app.screen.rows] == ["final"]
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, ModelsScreen)
            exits: list[tuple] = []
            app.exit = lambda *args, **kwargs: exits.append(args)  # type: ignore[method-assign]
            await pilot.press("ctrl+c")  # like q: run_screen then stops the workers
            await pilot.press("q")
            assert exits == [(), ()]
        # The running trial's worker (this test) lives: the poll left it RUNNING,
        # and ``best`` points at the complete trial's model.
        assert (study_dir / "best").resolve() == (done_dir / "final").resolve()
    finally:
        lock.release()
    states = [t.state.name for t in load_study(open_storage(None, study_dir), "tetris-tui").trials]
    assert states == ["COMPLETE", "PRUNED", "RUNNING"]
