"""``tetris-tui serve``: the real textual-serve server, real HTTP and websocket clients.

A tab is played by a websocket client the way textual.js does it: connect to
``/ws`` and read the app's terminal output. The headless-browser test runs
Debian's chromium when it is installed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from tetris_tui.runs.trainers import live_trainer
from tetris_tui.subcommands.serve import TAB_CODE

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "tetris_tui"]
TRAIN = ["--env", "placement", "--n-envs", "4", "--n-steps", "64", "--batch-size", "64"]
TRAIN += ["--device", "cpu", "--seed", "1"]
ESCAPES = re.compile(rb"\x1b(\[[0-9;?<=>]*[ -/]*[@-~]|\][^\x07]*\x07|[()][0-9A-Za-z]|[=>78])")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Served:
    """``tetris-tui serve`` as a real process; its stdout is collected by a thread."""

    def __init__(self, run: Path, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [*CLI, "serve", "--port", str(self.port), "--checkpoints", str(run), *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + 60
        while not any(line.startswith("ready:") for line in self.output):
            assert self.process.poll() is None, "".join(self.output)
            assert time.monotonic() < deadline, "".join(self.output)
            time.sleep(0.05)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def apps(self) -> list[psutil.Process]:
        """The app processes the server started, one per tab."""
        children = psutil.Process(self.process.pid).children(recursive=True)
        return [c for c in children if _is_app(c)]

    def close(self) -> None:
        """SIGTERM (textual-serve's graceful exit); no tab's app may outlive it."""
        with contextlib.suppress(psutil.Error):
            apps = psutil.Process(self.process.pid).children(recursive=True)
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        _, alive = psutil.wait_procs(apps, timeout=20)
        for process in alive:
            with contextlib.suppress(psutil.Error):
                process.kill()
        assert not alive, f"apps left running after the server: {[p.pid for p in alive]}"


def _is_app(process: psutil.Process) -> bool:
    """A tab's app: ``python -c TAB_CODE RUN`` (not the shell that textual-serve starts it in)."""
    with contextlib.suppress(psutil.Error):
        command = process.cmdline()
        return len(command) > 2 and command[1:3] == ["-c", TAB_CODE]
    return False


@pytest.fixture
def served(tmp_path):
    servers: list[Served] = []
    yield lambda *extra: servers.append(Served(tmp_path / "run", *extra)) or servers[-1]
    for server in servers:
        server.close()


class Tab:
    """One browser tab's websocket: the app's terminal output, as text."""

    def __init__(self, url: str) -> None:
        self.url = url.replace("http://", "ws://") + "/ws?width=120&height=36"
        self.raw = b""

    async def __aenter__(self) -> Tab:
        import aiohttp

        self._session = aiohttp.ClientSession()
        self.ws = await self._session.ws_connect(self.url)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.ws.close()
        await self._session.close()

    async def focus(self) -> None:
        await self.ws.send_json(["focus"])

    async def keys(self, text: str) -> None:
        await self.ws.send_json(["stdin", text])

    @property
    def text(self) -> str:
        return ESCAPES.sub(b"", self.raw).decode("utf-8", "replace")

    async def wait_for(self, *words: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not all(word in self.text for word in words):
            left = deadline - time.monotonic()
            assert left > 0, f"no {words} in the tab after {timeout}s:\n{self.text[-2000:]}"
            with contextlib.suppress(asyncio.TimeoutError):
                message = await self.ws.receive(timeout=min(left, 1.0))
                if isinstance(message.data, bytes):
                    self.raw += message.data


def test_serves_the_page_on_localhost_only(served):
    server = served()
    assert "127.0.0.1 only" in server.output[0] and "ssh -L" in server.output[0]
    with urllib.request.urlopen(server.url + "/", timeout=30) as response:
        assert response.status == 200
        page = response.read().decode()
    assert f'data-session-websocket-url="ws://127.0.0.1:{server.port}/ws"' in page
    assert "tetris-tui" in page
    with urllib.request.urlopen(server.url + "/static/js/textual.js", timeout=30) as response:
        assert response.status == 200

    listening = [
        c.laddr
        for c in psutil.Process(server.process.pid).net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    ]
    assert listening and all(addr.ip == "127.0.0.1" for addr in listening), listening
    assert {addr.port for addr in listening} == {server.port}
    for other in _other_local_addresses():
        with pytest.raises(OSError), socket.create_connection((other, server.port), timeout=5):
            pass


def _other_local_addresses() -> list[str]:
    """This machine's IPv4 addresses that are not loopback (the server must not answer there)."""
    return [
        addr.address
        for addrs in psutil.net_if_addrs().values()
        for addr in addrs
        if addr.family == socket.AF_INET and not addr.address.startswith("127.")
    ]


def test_a_port_in_use_is_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*CLI, "serve", "--port", str(port), "--checkpoints", str(tmp_path / "run")],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"tetris-tui: error: cannot listen on 127.0.0.1:{port} (address already in use)"
    ], result.stderr


async def test_each_tab_is_its_own_app_watching_a_live_trainer_read_only(served, tmp_path):
    run = tmp_path / "run"
    started = subprocess.run(
        [*CLI, "--headless", "--detach", "--checkpoints", str(run), *TRAIN],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert started.returncode == 0, started.stderr
    card = live_trainer(run)
    assert card is not None
    try:
        server = served()
        async with Tab(server.url) as first, Tab(server.url) as second:
            for tab in (first, second):
                await tab.wait_for("RUNNING", "lines/game")
                await tab.focus()  # as a browser does: the footer then shows the keys
                await tab.wait_for("READ-ONLY")
            apps = server.apps()
            assert len({app.pid for app in apps}) == 2, [app.cmdline() for app in apps]
            assert not any("--control" in app.cmdline() for app in apps)
    finally:
        os.kill(card.pid, signal.SIGTERM)
        psutil.wait_procs([psutil.Process(card.pid)], timeout=60)


async def test_a_tab_on_an_idle_run_starts_a_trainer_that_outlives_the_tab(served, tmp_path):
    run = tmp_path / "run"
    server = served()  # the default: read-only toward a live trainer, but none runs yet
    card = None
    try:
        async with Tab(server.url) as tab:
            await tab.wait_for("press s to start")
            await tab.focus()
            await tab.keys("s")
            await tab.wait_for("RUNNING")
            card = live_trainer(run)
            assert card is not None
        _, alive = psutil.wait_procs(server.apps(), timeout=30)  # the tab's app ends with it
        assert not alive
        assert live_trainer(run) is not None  # and its trainer trains on
    finally:
        if card is not None:
            os.kill(card.pid, signal.SIGTERM)
            psutil.wait_procs([psutil.Process(card.pid)], timeout=60)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
async def test_a_headless_browser_sees_the_board(served, tmp_path):
    """Debian's chromium opens the page; textual.js connects and the app draws the board.

    Driven over the DevTools protocol: what arrives on the page's websocket is
    the app's screen, and the page hides its intro once the first byte is drawn.
    A screenshot is left in the test's tmp folder for a human eye.
    """
    import aiohttp

    server = served()
    profile = tmp_path / "profile"
    browser = subprocess.Popen(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu"]
        + ["--disable-background-networking", "--no-first-run", f"--user-data-dir={profile}"]
        + ["--remote-debugging-port=0", "--window-size=1400,900", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port = await _devtools_port(profile / "DevToolsActivePort")
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/json/list") as listing:
                pages = [t for t in await listing.json() if t["type"] == "page"]
            async with http.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0) as cdp:
                page = DevTools(cdp)
                await page.call("Network.enable")
                await page.call("Page.navigate", url=server.url + "/")
                # The status line, the curve's panel, and the board's empty cells.
                await page.websocket_text_until("tetris-tui", "lines/game", "· · · ·", timeout=120)
                classes = await page.evaluate("document.body.className")
                assert "-first-byte" in classes  # the intro gave way to the app
                shot = await page.call("Page.captureScreenshot", format="png")
                (tmp_path / "browser.png").write_bytes(base64.b64decode(shot["data"]))
        assert len(server.apps()) == 1
    finally:
        browser.kill()
        browser.wait(10)


async def _devtools_port(path: Path, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text().strip():
        assert time.monotonic() < deadline, "chromium did not open its DevTools port"
        await asyncio.sleep(0.1)
    return int(path.read_text().split()[0])


class DevTools:
    """Just enough of the Chrome DevTools protocol: calls, and websocket frames seen."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.next_id = 0
        self.frames = b""

    async def call(self, method: str, **params: object) -> dict:
        self.next_id += 1
        await self.ws.send_json({"id": self.next_id, "method": method, "params": params})
        while True:
            message = await self._receive(timeout=60)
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                return message.get("result", {})

    async def evaluate(self, expression: str) -> object:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    async def websocket_text_until(self, *words: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = ESCAPES.sub(b"", self.frames).decode("utf-8", "replace")
            if all(word in text for word in words):
                return text
            left = deadline - time.monotonic()
            assert left > 0, f"the page never received {words}:\n{text[-2000:]}"
            with contextlib.suppress(asyncio.TimeoutError):
                await self._receive(timeout=min(left, 1.0))

    async def _receive(self, timeout: float) -> dict:
        message = await self.ws.receive_json(timeout=timeout)
        if message.get("method") == "Network.webSocketFrameReceived":
            frame = message["params"]["response"]
            if frame.get("opcode") == 2:  # binary: textual-serve's packets of screen output
                self.frames += base64.b64decode(frame["payloadData"])
        return message
