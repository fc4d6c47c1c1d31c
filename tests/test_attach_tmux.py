"""Training outlives the terminal (issue #13): the real `tetris-tui` in tmux."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from test_ui_tmux import Tmux, cli_command, finished_games, wait_screen

from tetris_tui.proctree import pid_alive
from tetris_tui.runs.runlog import EVENTS_FILE
from tetris_tui.runs.trainers import live_trainer, read_card

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

TRAIN = ["--env", "placement", "--n-envs", "1", "--n-steps", "128", "--batch-size", "64"]
TRAIN += ["--device", "cpu", "--seed", "1"]


def _env() -> dict[str, str]:
    """Read when used: conftest points XDG_STATE_HOME at the tests' own trainer registry."""
    return {**os.environ, "TERM": "xterm-256color", "COLORTERM": ""}


def _command(*args: str) -> str:
    return " ".join(f"'{a}'" for a in [*cli_command(), *args])


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*cli_command(), *args], capture_output=True, text=True, timeout=180, env=_env()
    )


def _ls_state(run: Path) -> str:
    result = _cli("ls", str(run.parent))
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    states = [row[1] for row in rows if Path(row[0]) == run.resolve()]
    assert states, result.stdout
    return states[0]


def _timesteps_grow(run: Path, timeout: float = 30) -> None:
    card = read_card(run)
    assert card is not None
    start = card.timesteps
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        card = read_card(run)
        if card is not None and card.timesteps > start + 200:
            return
        time.sleep(0.5)
    raise AssertionError("the trainer stopped training")


def _games_on_disk(run: Path) -> int:
    return sum(1 for line in (run / EVENTS_FILE).open() if '"kind":"episode"' in line)


def _wait_gone(pid: int, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not pid_alive(pid), "the trainer is still running"


def _stop_in(tmux: Tmux, run: Path, pid: int) -> None:
    tmux.keys("x")
    wait_screen(tmux, lambda s: "stopped" in s, 40)
    _wait_gone(pid)
    assert (run / "latest" / "model.zip").is_file()
    assert _ls_state(run) == "stopped"


def test_hang_up_leaves_training_running_and_attach_takes_over(tmp_path):
    run = tmp_path / "run"
    first = Tmux(120, 36)
    first.start(_command("--checkpoints", str(run), *TRAIN), _env())
    try:
        wait_screen(first, lambda s: "idle" in s, 30)
        first.keys("s")
        wait_screen(first, lambda s: "RUNNING" in s and finished_games(s) >= 1, 90)
    finally:
        first.kill()  # the terminal goes away: a hang-up
    card = live_trainer(run)
    assert card is not None, "the trainer died with its terminal"
    _timesteps_grow(run)
    assert _ls_state(run) == "training"

    second = Tmux(120, 36)
    second.start(_command("attach", "--checkpoints", str(run)), _env())
    try:
        on_disk = _games_on_disk(run)
        screen = wait_screen(second, lambda s: "RUNNING" in s and finished_games(s) >= on_disk, 30)
        assert "episodes" in screen and ("spectator" in screen or "env 0" in screen)
        # Training's env 0 on the board (the spectator may still be starting): live frames.
        if "spectator" in screen:
            second.keys("w")
        wait_screen(second, lambda s: "env 0" in s, 10)
        boards = {_board(second.screen()) for _ in range(8) if time.sleep(0.3) is None}
        assert len(boards) > 1, "the board is not live"
        _stop_in(second, run, card.pid)
    finally:
        second.kill()


def test_detached_headless_attach_leave_running_ls_attach_stop(tmp_path):
    run = tmp_path / "run"
    started = _cli("--headless", "--detach", "--checkpoints", str(run), *TRAIN)
    assert started.returncode == 0, started.stderr
    assert "training in the background" in started.stdout
    card = live_trainer(run)
    assert card is not None and f"pid {card.pid}" in started.stdout

    viewer = Tmux(120, 36)
    viewer.start(_command("attach", "--checkpoints", str(run)), _env())
    viewer.run("set-option", "-t", "ui", "remain-on-exit", "on")
    try:
        wait_screen(viewer, lambda s: "RUNNING" in s, 30)
        viewer.keys("q")
        wait_screen(viewer, lambda s: "leave it running" in s, 10)
        viewer.keys("d")
        wait_screen(viewer, lambda s: "training goes on" in s, 20)
    finally:
        viewer.kill()
    assert pid_alive(card.pid)
    _timesteps_grow(run)
    assert _ls_state(run) == "training"

    again = Tmux(120, 36)
    again.start(_command("attach", "--checkpoints", str(run)), _env())
    try:
        wait_screen(again, lambda s: "RUNNING" in s, 30)
        _stop_in(again, run, card.pid)
    finally:
        again.kill()


def test_a_read_only_viewer_beside_a_controlling_one(tmp_path):
    run = tmp_path / "run"
    assert _cli("--headless", "--detach", "--checkpoints", str(run), *TRAIN).returncode == 0
    card = live_trainer(run)
    assert card is not None
    commander, watcher = Tmux(120, 36), Tmux(120, 36)
    commander.start(_command("attach", "--checkpoints", str(run)), _env())
    watcher.start(_command("attach", "--read-only", "--checkpoints", str(run)), _env())
    try:
        wait_screen(commander, lambda s: "RUNNING" in s, 30)
        wait_screen(watcher, lambda s: "RUNNING" in s and "READ-ONLY" in s, 30)
        for key in ("p", "x", "s", "w", "minus", "k"):
            watcher.keys(key)
        time.sleep(3 * 1.0)
        assert read_card(run).state == "running"  # type: ignore[union-attr]
        assert "RUNNING" in commander.screen()
        _timesteps_grow(run)
        commander.keys("p")
        wait_screen(watcher, lambda s: "PAUSED" in s, 20)
        commander.keys("p")
        wait_screen(watcher, lambda s: "RUNNING" in s, 20)
        _stop_in(commander, run, card.pid)
        wait_screen(watcher, lambda s: "stopped" in s, 20)
    finally:
        commander.kill()
        watcher.kill()


def _board(screen: str) -> str:
    """The board panel: the left 24 columns of the rows under the header."""
    return "\n".join(line[:24] for line in screen.splitlines()[1:22])
