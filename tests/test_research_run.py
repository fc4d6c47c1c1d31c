"""Everything under the research rules: a real run, its meta, spectator, replays, tables, play."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import collect_until, random_placements, small_config
from ui_helpers import WidgetHost, screen_text

from tetris_tui import protocol as p
from tetris_tui.config import EnvConfig, PPOConfig
from tetris_tui.envs.placement_vec import PlacementVecEnv
from tetris_tui.replay import final_state, load_replay, replay_events
from tetris_tui.session.spawned import TrainingSession
from tetris_tui.ui.animation import PlacementAnimation
from tetris_tui.ui.widgets.board import BoardView

RESEARCH10 = EnvConfig(rules="research", height=10, randomizer="uniform")


def test_research_replays_end_on_their_ten_row_board(tmp_path):
    env = PlacementVecEnv(16, RESEARCH10, seed=3)
    env.record_above = 0
    replays = []
    for dones, infos in random_placements(env, 300, seed=0):
        ended = np.flatnonzero(dones)
        replays += [infos[i]["replay"].replay() for i in ended if "replay" in infos[i]]
    assert replays
    best = replays[-1]
    assert best.height == 10 and len(best.final_board) == 100
    assert final_state(best.placements, 10) == (best.final_board, best.lines)
    path = tmp_path / "best.json"
    path.write_text(json.dumps(best.to_json()))
    loaded = load_replay(path)  # checks it ends on its board
    events = list(replay_events(loaded))
    assert all(len(e.board) == 100 for e in events)
    assert PlacementAnimation(events[-1], 1.0).final()[0] == best.final_board


def test_the_spectators_game_under_research_rules(tmp_path):
    """``GreedyGame`` (the spectator's and play mode's) on 10 rows: events, record, replay."""
    from spectator_helpers import heuristic

    from tetris_tui.worker.greedy_game import GreedyGame

    game = GreedyGame(RESEARCH10, seed=1, max_pieces=400)
    game.new_game(0, seed=9)
    events = []
    while game.finished is None:
        event = game.step(heuristic)
        if event is not None:
            events.append(event)
    record = game.finished
    assert events and all(len(e.board) == 100 and e.next_pieces == () for e in events)
    assert record.lines == events[-1].lines > 0 and record.height == 10
    board = events[0].board
    for event in events:  # the animation's result is the next event's board
        assert event.board == board
        board = PlacementAnimation(event, 1.0).after
    assert board == record.final_board
    path = tmp_path / "game.json"
    path.write_text(json.dumps(record.to_json()))
    assert load_replay(path).lines == record.lines


async def test_the_board_widget_draws_a_ten_row_board():
    board = BoardView()
    cells = bytes(90) + bytes([3] * 9 + [0])  # bottom row: nine O cells
    async with WidgetHost(board).run_test(size=(40, 22)) as pilot:
        board.show_frame(p.Board(cells=cells))
        await pilot.pause()
        assert board.size.height == 10
        assert screen_text(pilot.app).splitlines()[9].startswith("▓▓" * 9)
        board.show_frame(p.Board(cells=bytes(200)))  # a 20-row run's frame: taller again
        await pilot.pause()
        assert board.size.height == 20


def _cli(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "tetris_tui", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="module")
def research_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    """A real worker's run on 10x10 research rules, and what it reported."""
    run_dir = tmp_path_factory.mktemp("research") / "run"
    config = small_config(
        run_dir,
        env=RESEARCH10,
        n_envs=16,
        total_timesteps=4096,
        ppo=PPOConfig(n_steps=64, batch_size=256, n_epochs=1),
        view=p.VIEW_ENV,
    )
    session = TrainingSession()
    try:
        session.start(config)
        events = collect_until(
            session,
            lambda ev: any(isinstance(e, p.Status) and e.state == p.FINISHED for e in ev),
            timeout=180,
        )
    finally:
        session.stop(timeout=15)
    return run_dir, events


@pytest.mark.slow
def test_a_research_run_trains_saves_its_rules_and_plays_them(research_run):
    """Real worker on 10x10 research rules; then models, ls and play read its rules."""
    run_dir, events = research_run
    frames = [e for e in events if isinstance(e, p.Board)]
    assert frames and all(len(f.cells) == 100 and f.next_pieces == () for f in frames)
    meta = json.loads((run_dir / "final" / "meta.json").read_text())
    env = meta["config"]["env"]
    assert (env["rules"], env["height"], env["randomizer"]) == ("research", 10, "uniform")

    models = _cli("models", "--checkpoints", str(run_dir))
    assert models.returncode == 0 and "placement research 10x10" in models.stdout, models.stderr
    listing = _cli("ls", str(run_dir))
    assert "RULES" in listing.stdout and "research 10x10" in listing.stdout, listing.stderr

    played = _cli(
        "play", "final", "--checkpoints", str(run_dir), "--headless", "--games", "5",
        "--seed", "2", "--max-pieces", "500",
    )  # fmt: skip
    assert played.returncode == 0, played.stderr
    assert "research 10x10 rules" in played.stdout
    assert played.stdout.splitlines()[-1].startswith("summary: games=5 mean=")
    # Other rules only when asked, and a bad combination is one line and exit 2.
    other = _cli(
        "play", "final", "--checkpoints", str(run_dir), "--headless", "--games", "2",
        "--max-pieces", "200", "--rules", "gymnasium",
    )  # fmt: skip
    assert other.returncode == 0 and "(placement env, gymnasium rules)" in other.stdout
    bad = _cli("play", "final", "--checkpoints", str(run_dir), "--headless", "--height", "15")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_the_uis_rules_load_without_numpy():
    """Replays and the animation use ``rules/board.py``: the UI process stays numpy-free."""
    code = (
        "import sys, tetris_tui.replay, tetris_tui.ui.animation\n"
        "from tetris_tui.config import Config, EnvConfig\n"
        "Config(env=EnvConfig(rules='research', height=10, randomizer='uniform'))\n"
        "print(sorted(m for m in ('numpy', 'torch', 'tetris_gymnasium') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr


@pytest.mark.slow
async def test_the_app_plays_a_model_on_other_rules_only_when_asked(research_run):
    """``tetris-tui play final --rules gymnasium`` in the app: the 10x10 model plays on
    20 rows; from the models table (no rules asked) the same model plays its own 10."""
    from tetris_tui.ui.app import TetrisApp

    run_dir, _ = research_run
    gymnasium = {"rules": "gymnasium", "height": 20, "randomizer": "bag"}
    for rules, rows in ((gymnasium, 20), (None, 10)):
        config = small_config(run_dir, fps=30.0, pace=60.0)
        app = TetrisApp(config, play_model=run_dir / "final", play_rules=rules)
        async with app.run_test(size=(100, 44)) as pilot:
            board = app.query_one(BoardView)
            deadline = time.monotonic() + 90
            while board.frame is None and time.monotonic() < deadline:
                await pilot.pause(0.2)
            assert board.frame is not None, "the model played nothing"
            assert len(board.frame.cells) == rows * 10
            await pilot.pause(0.2)
            assert board.rows == rows and board.size.height == rows * board.scale
            await pilot.press("q")
        assert not app.session.alive
