"""The real app in a private tmux server, read from the outside (bench/ui.py's driver)."""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid

from tetris_tui.proctree import cmdline, descendants

STEPS = re.compile(r"([\d,]+) st(?:eps)?\b")
# Every tmux server started here: bench/ui.py kills those left at exit.
TMUX_SOCKETS: set[str] = set()


def tmux_env() -> dict[str, str]:
    """The environment of an app in a bench's tmux pane. COLUMNS and LINES would
    override the pane's size for Textual, so they are left out: the app measures it."""
    env = {name: value for name, value in os.environ.items() if name not in ("COLUMNS", "LINES")}
    return {**env, "TERM": "xterm-256color"}


class Tmux:
    def __init__(self, width: int = 160, height: int = 50) -> None:
        self.socket = f"tetris-tui-bench-{uuid.uuid4().hex[:8]}"
        self.size = (width, height)

    def run(self, *args: str) -> str:
        out = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True)
        return out.stdout

    def start(self, command: list[str]) -> None:
        TMUX_SOCKETS.add(self.socket)
        width, height = self.size
        env = tmux_env()
        line = " ".join(f"'{part}'" for part in command)
        subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", "new-session", "-d", "-s", "b",
             "-x", str(width), "-y", str(height), line],
            check=True, env=env,
        )  # fmt: skip

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "b")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "b", *keys)

    def pane_pid(self) -> int:
        return int(self.run("display-message", "-p", "-t", "b", "#{pane_pid}").strip())

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


VIEW_TITLES = {"spectator · game": "spectator", "training · env 0": "env", "board off": "off"}


def board_view(screen: str) -> str | None:
    """Which view the board's title shows (``w`` cycles them)."""
    for title, view in VIEW_TITLES.items():
        if title in screen:
            return view
    return None


def app_pid(root: int) -> int:
    """The app's python process: the pane's process or its first tetris_tui child."""
    for pid in [root, *descendants(root)]:
        line = cmdline(pid)
        if "tetris_tui" in line and "multiprocessing" not in line:
            return pid
    return root


def wait_for(tmux: Tmux, check, timeout: float, poll: float = 0.005) -> float:
    """Seconds until ``check(screen)`` holds (polling capture-pane)."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if check(tmux.screen()):
            return time.perf_counter() - start
        time.sleep(poll)
    raise TimeoutError(f"screen condition not met in {timeout}s:\n{tmux.screen()}")


def screen_steps(screen: str) -> int:
    first = screen.splitlines()[0] if screen else ""
    match = STEPS.search(first)
    return int(match.group(1).replace(",", "")) if match else 0
