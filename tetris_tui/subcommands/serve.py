"""``tetris-tui serve``: the app in a browser tab, through textual-serve.

textual-serve starts the command below once per browser tab (one app process
per tab, talking to the page over a websocket), so tabs are as independent as
terminals: each one attaches to the live trainer, or opens the app on the run
when none trains. A tab is a read-only viewer of a live trainer unless the
server was started with ``--control``: a page link is easier to share than a
terminal, and a stray key in a shared tab should not stop someone's run.

It binds to 127.0.0.1 unless another host is asked for: the app can start and
stop training, and has no login of its own. From another machine, tunnel:
``ssh -L 8000:localhost:8000 box``.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import os
import shlex
import socket
import sys
from pathlib import Path
from typing import Any

from tetris_tui.cli_options import add_run_dir_option, fail

NAME = "serve"
HELP = "serve the app in a browser (one app per tab), on localhost by default"
DESCRIPTION = (
    "Serve the app over HTTP with textual-serve: every browser tab runs its own app on "
    "the run directory. Binds to 127.0.0.1 unless --host says otherwise; reach it from "
    "another machine with an SSH tunnel: ssh -L 8000:localhost:8000 box"
)
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# What textual-serve runs per tab (``python -c TAB_CODE RUN [--control]``).
TAB_CODE = "import sys; from tetris_tui.serve_tab import tab_main; sys.exit(tab_main(sys.argv[1:]))"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_dir_option(parser, shared=True)
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}: this machine only)",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="default 8000")
    parser.add_argument(
        "--control",
        action="store_true",
        help="tabs may command a live trainer (default: they watch it read-only)",
    )
    parser.add_argument(
        "--public-url",
        metavar="URL",
        default=None,
        help="the address browsers use, when it is not http://HOST:PORT "
        "(a tunnel to another local port, a proxy)",
    )


def tab_command(run_dir: Path, control: bool) -> list[str]:
    """What each tab runs: ``serve_tab.tab_main``, in a process of its own."""
    command = [sys.executable, "-c", TAB_CODE, str(run_dir.resolve())]
    return [*command, "--control"] if control else command


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    run_dir = Path(getattr(args, "checkpoints", Path("checkpoints")))
    if not 0 < args.port < 65536:
        fail(f"--port must be 1 to 65535, got {args.port}")
    if run_dir.exists() and not run_dir.is_dir():
        fail(f"checkpoints path {run_dir} is a file, not a directory")
    try:
        from textual_serve.server import Server
    except ImportError:
        fail("serve needs textual-serve, which is not installed: pip install textual-serve")

    url = args.public_url or f"http://{_url_host(_reachable(args.host))}:{args.port}"
    if is_loopback(args.host):
        where = (
            f"on {args.host} only (this machine); from another one, tunnel: "
            f"ssh -L {args.port}:localhost:{args.port} THIS_HOST"
        )
    else:
        where = f"on {args.host}: anyone who can reach it can use the app (no login)"
    tabs = "tabs can command a live trainer" if args.control else "tabs watch a live trainer"
    print(f"tetris-tui serve: {url}  listening {where}; {tabs}", flush=True)

    class QuietServer(Server):
        """textual-serve, printing our one line instead of its banner."""

        async def on_startup(self, app: object) -> None:
            # aiohttp binds after the startup hooks: say "ready" once it answers.
            self._ready = asyncio.get_running_loop().create_task(self._say_ready())

        async def _say_ready(self) -> None:
            host = "127.0.0.1" if _reachable(self.host) != self.host else self.host
            for _ in range(600):
                try:
                    _, writer = await asyncio.open_connection(host, self.port)
                except OSError:
                    await asyncio.sleep(0.05)
                    continue
                writer.close()
                print(f"ready: open {url} (Ctrl+C stops the server)", flush=True)
                return

        def initialize_logging(self) -> None:
            super().initialize_logging()
            logging.getLogger().setLevel(logging.WARNING)  # no line per request

    server = QuietServer(
        shlex.join(tab_command(run_dir, args.control)),
        host=args.host,
        port=args.port,
        title="tetris-tui",
        public_url=url,
    )
    sys.unraisablehook = _quiet_closed_loop(sys.unraisablehook)
    try:
        server.serve()
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        fail(f"cannot listen on {args.host}:{args.port} ({reason.lower()})")
    return 0


def _quiet_closed_loop(hook: Any) -> Any:
    """At exit, tabs' process transports are collected after aiohttp closed the loop,
    and asyncio reports each as "Event loop is closed": noise, nothing was lost."""

    def unraisable(info: Any) -> None:
        if isinstance(info.exc_value, RuntimeError) and "loop is closed" in str(info.exc_value):
            return
        hook(info)

    return unraisable


def _reachable(host: str) -> str:
    """A name browsers can use: listening on every address (0.0.0.0, ::) is no address
    to connect to, so the page names this machine instead (--public-url overrides)."""
    try:
        unspecified = ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return host
    return socket.gethostname() if unspecified else host


def _url_host(host: str) -> str:
    """A host as it goes in a URL (an IPv6 address in brackets)."""
    try:
        return f"[{host}]" if ipaddress.ip_address(host).version == 6 else host
    except ValueError:
        return host
