"""End to end in a real terminal: the `tetris-tui` CLI inside tmux, driven by keys."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from ui_helpers import child_pids

from tetris_tui.proctree import pid_alive

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

GAMES = re.compile(r"(\d[\d,]*) games")


def cli_command() -> list[str]:
    script = Path(sys.executable).with_name("tetris-tui")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tetris_tui"]


class Tmux:
    """A private tmux server (own socket) with one session of a fixed size."""

    def __init__(self, width: int, height: int) -> None:
        self.socket = f"tetris-tui-test-{uuid.uuid4().hex[:8]}"
        self.size = (width, height)

    def run(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10
        )
        return result.stdout

    def start(self, command: str, env: dict[str, str]) -> None:
        width, height = self.size
        # COLUMNS and LINES override the pane's size for Textual (shutil's rule), and
        # pytest-xdist's workers set them to 80x24: the app must measure the pane.
        env = {name: value for name, value in env.items() if name not in ("COLUMNS", "LINES")}
        subprocess.run(
            [
                "tmux",
                "-L",
                self.socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                "ui",
                "-x",
                str(width),
                "-y",
                str(height),
                command,
            ],
            check=True,
            timeout=10,
            env=env,
        )

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "ui")

    def screen_with_colours(self) -> str:
        """The screen with its SGR escape sequences, as tmux holds them."""
        return self.run("capture-pane", "-p", "-e", "-t", "ui")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "ui", *keys)

    def pane_pid(self) -> int | None:
        out = self.run("display-message", "-p", "-t", "ui", "#{pane_pid}").strip()
        return int(out) if out.isdigit() else None

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)


def wait_screen(tmux: Tmux, check, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux.screen()
        if check(screen):
            return screen
        time.sleep(0.25)
    raise AssertionError(f"timed out; last screen:\n{screen}")


def finished_games(screen: str) -> int:
    counts = [int(m.replace(",", "")) for m in GAMES.findall(screen)]
    return max(counts, default=0)


def test_cli_in_tmux_trains_shows_games_and_quits_cleanly(tmp_path):
    run_dir = tmp_path / "run"
    args = [
        *cli_command(),
        "--checkpoints",
        str(run_dir),
        "--env",
        "raw",
        "--n-envs",
        "1",
        "--n-steps",
        "128",
        "--batch-size",
        "64",
        "--device",
        "cpu",
        "--seed",
        "1",
    ]
    env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": ""}
    # Textual draws on stderr: nothing is redirected. remain-on-exit keeps the pane
    # (and anything printed on the way out) readable after the app has exited.
    command = " ".join(f"'{a}'" for a in args)
    tmux = Tmux(100, 30)
    tmux.start(command, env)
    tmux.run("set-option", "-t", "ui", "remain-on-exit", "on")
    try:
        wait_screen(tmux, lambda s: "idle" in s and "board" in s, 30)
        pane = tmux.pane_pid()
        assert pane is not None
        tmux.keys("s")
        screen = wait_screen(tmux, lambda s: finished_games(s) >= 1 and "RUNNING" in s, 90)
        assert "episodes" in screen and "learning" in screen
        # Inside tmux TERM is tmux-256color: the app must draw in 256 colours
        # (38;5;N / 48;5;N), never in true colour the terminal may not have.
        coloured = tmux.screen_with_colours()
        palette = set(re.findall(r"[34]8;5;(\d+)", coloured))
        assert len(palette) >= 4, coloured
        assert not re.search(r"[34]8;2;\d", coloured), "true-colour codes in a 256-colour terminal"
        tree = [pane, *child_pids(pane)]
        assert len(tree) >= 2  # the app and its worker
        tmux.keys("q")
        wait_screen(tmux, lambda s: "leave it running" in s, 10)
        tmux.keys("x")  # stop training (save), then quit
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and any(pid_alive(pid) for pid in tree):
            time.sleep(0.2)
        assert not any(pid_alive(pid) for pid in tree), "processes left behind"
        assert (run_dir / "latest" / "model.zip").is_file()
        dead = tmux.run("display-message", "-p", "-t", "ui", "#{pane_dead}")
        assert dead.strip() == "1", dead
        after = tmux.screen()
        assert "Traceback" not in after and "Error" not in after, after
    finally:
        tmux.kill()
