"""The spectator with the REAL worker: Pilot for the app, tmux for the terminal, kills."""

from __future__ import annotations

import os
import re
import shutil
import signal
import time

import pytest
from test_ui_tmux import Tmux, cli_command, wait_screen
from test_ui_worker import wait_for
from ui_helpers import child_pids, real_config

from tetris_tui import protocol as p
from tetris_tui.config import EnvConfig
from tetris_tui.proctree import pid_alive
from tetris_tui.runs.trainers import live_trainer
from tetris_tui.session.spawned import TrainingSession, worker_pids
from tetris_tui.ui.app import TetrisApp

pytestmark = pytest.mark.slow


def placement_config(run_dir, **changes):
    changes = {"total_timesteps": 50_000_000, **changes}
    return real_config(run_dir, env=EnvConfig(kind="placement"), **changes)


async def measure(app, pilot, seconds: float) -> tuple[float, float]:
    """Placements shown per second and training steps per second over ``seconds``."""
    feed = app.main.feed
    shown, steps, started = feed.placements_shown, app.timesteps, time.monotonic()
    await pilot.pause(seconds)
    spent = time.monotonic() - started
    return (feed.placements_shown - shown) / spent, (app.timesteps - steps) / spent


async def test_the_board_plays_at_the_spectators_pace_while_training_runs_flat_out(tmp_path):
    app = TetrisApp(placement_config(tmp_path / "run", pace=2.0))
    sent: list[p.Command] = []
    async with app.run_test(size=(100, 30)) as pilot:
        original = app.session.send
        app.session.send = lambda command: (sent.append(command), original(command))
        weights_by_game: dict[int, set[int]] = {}
        paces: list[float] = []  # the pace each placement was played at, by the spectator
        add = app.main.feed.add

        def record(event: p.SpectatorPlacement) -> None:
            weights_by_game.setdefault(event.game, set()).add(event.policy_timesteps)
            paces.append(event.pace)
            add(event)

        app.main.feed.add = record
        await pilot.press("s")
        await wait_for(pilot, lambda: app.state == p.RUNNING, 240, "training")
        # Never a blank board: env 0 stands in until the spectator's first placement.
        await wait_for(pilot, lambda: app.main.board_view.frame is not None, 2, "a board")
        await wait_for(
            pilot,
            lambda: app.main.feed.placements_shown >= 2,
            240,  # the spectator starts at low priority: slow on a loaded machine
            "the spectator's first placements on the board",
        )
        first = app.main.feed.shown
        placements, steps = await measure(app, pilot, 5.0)
        # The board's game moves at 2 placements/s at most; training makes hundreds of
        # steps/s. The spectator runs at low priority, so on a loaded machine it may
        # fall behind its pace (never ahead): the pacing's own timing is
        # test_spectator_pacing's, with a clock of its own.
        assert 0 < placements <= 3.0, placements
        assert set(paces) == {2.0}
        assert steps > 100 * placements, (steps, placements)
        shown = app.main.feed.shown
        assert (shown.game, shown.pieces) != (first.game, first.pieces)
        assert "policy @" in str(app.main.board_view.border_subtitle)
        # New weights reach the spectator after each PPO update, even mid-game.
        assert max(len(seen) for seen in weights_by_game.values()) > 1, weights_by_game
        # + twice: 5/s, then 10/s. Only the spectator's pace goes to the worker.
        await pilot.press("plus", "plus")
        await wait_for(pilot, lambda: paces[-1] == 10.0, 30, "a placement at the new pace")
        faster, steps_after = await measure(app, pilot, 4.0)
        # Quiet, it plays ~10/s; with two test processes and a busy loop on 2 cores
        # it read 3.2 (and 2/s before): clearly faster, never above its pace.
        assert 1.25 * placements < faster <= 12.0, (placements, faster)
        assert steps_after > 100 * faster / 10
        await pilot.press("minus")
        assert sent == [p.SetPace(5.0), p.SetPace(10.0), p.SetPace(5.0)]
        await pilot.press("q", "x")  # stop training, then quit
        while app.is_running:
            await pilot.pause(0.1)
    assert child_pids() == []


def test_the_spectator_dies_with_a_killed_worker(tmp_path):
    session = TrainingSession()
    try:
        session.start(placement_config(tmp_path / "run", pace=p.INSTANT))
        deadline = time.monotonic() + 240
        seen = False
        while not seen and time.monotonic() < deadline:
            seen = any(isinstance(e, p.SpectatorPlacement) for e in session.drain())
            time.sleep(0.05)
        assert seen, "no spectator placement"
        pids = worker_pids(session)
        assert len(pids) == 2  # the worker and its spectator
        os.kill(pids[0], signal.SIGKILL)
        deadline = time.monotonic() + 5
        while any(pid_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(pid_alive(pid) for pid in pids), "the spectator outlived its worker"
    finally:
        session.stop(timeout=10)


PIECES = re.compile(r"PIECES")


def board_state(screen: str) -> tuple[int, int] | None:
    """(pieces counter, highest row with a cell in the well) of the spectator's board."""
    lines = screen.splitlines()
    top = next((i for i, line in enumerate(lines) if "spectator · game" in line), None)
    if top is None:
        return None
    rows = lines[top + 1 : top + 21]
    pieces = None
    for i, line in enumerate(rows):
        if "PIECES" in line and i + 1 < len(rows):
            value = rows[i + 1][22:30].strip()
            pieces = int(value.replace(",", "")) if value.replace(",", "").isdigit() else None
    highest = next((r for r, line in enumerate(rows) if line[1:21].replace("·", "").strip()), None)
    if pieces is None or highest is None:
        return None
    return pieces, highest


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_at_a_slow_pace_the_piece_is_seen_falling_in_a_real_terminal(tmp_path):
    args = [
        *cli_command(),
        "--checkpoints", str(tmp_path / "run"), "--env", "placement", "--n-envs", "1",
        "--device", "cpu", "--seed", "1", "--autostart",
    ]  # fmt: skip
    env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": ""}
    tmux = Tmux(100, 30)
    tmux.start(" ".join(f"'{a}'" for a in args), env)
    try:
        wait_screen(tmux, lambda s: "RUNNING" in s and "spectator · game" in s, 240)
        tmux.keys("-")
        tmux.keys("-")  # 5/s -> 2/s -> 1/s
        wait_screen(tmux, lambda s: "1/s" in s.splitlines()[0], 10)
        time.sleep(1.5)
        rows_by_piece: dict[int, set[int]] = {}
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            state = board_state(tmux.screen())
            if state is not None:
                rows_by_piece.setdefault(state[0], set()).add(state[1])
            time.sleep(0.03)
        # Within one placement (one PIECES count) the piece shows on several rows.
        most = max((len(rows) for rows in rows_by_piece.values()), default=0)
        assert most >= 4, rows_by_piece
        assert len(rows_by_piece) <= 9  # about 1 placement/s over 6 s
        tmux.keys("q")
        wait_screen(tmux, lambda s: "leave it running" in s, 10)
        tmux.keys("x")  # stop training (save), then quit
        wait_screen(tmux, lambda s: "RUNNING" not in s, 40)
        deadline = time.monotonic() + 40
        while live_trainer(tmp_path / "run") is not None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert live_trainer(tmp_path / "run") is None
    finally:
        tmux.kill()


def test_play_mode_uses_the_spectator_and_obeys_its_pace(tmp_path):
    """`tetris-tui play` of a placement model: animated placements at the pace set."""
    run_dir = tmp_path / "run"
    trainer = TrainingSession()
    try:
        trainer.start(placement_config(run_dir, total_timesteps=256))
        deadline = time.monotonic() + 120
        while trainer.state not in p.TERMINAL_STATES and time.monotonic() < deadline:
            trainer.drain()
            time.sleep(0.05)
    finally:
        trainer.stop(timeout=10)
    player = TrainingSession()

    def rate(seconds: float) -> float:
        events = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            events += player.drain()
            time.sleep(0.05)
        return sum(isinstance(e, p.SpectatorPlacement) for e in events) / seconds

    try:
        player.start_play(placement_config(run_dir, pace=2.0), run_dir / "latest")
        deadline = time.monotonic() + 60
        while player.state != p.RUNNING and time.monotonic() < deadline:
            player.drain()
            time.sleep(0.05)
        assert 1.0 <= rate(4.0) <= 3.0
        player.send(p.SetPace(20.0))
        assert rate(3.0) >= 8.0
    finally:
        player.stop(timeout=10)
