"""Shared helpers for the UI tests: scripted fake sessions, fixed data, snapshots.

The fakes stand in for ``TrainingSession`` and ``AttachedSession`` where a test
needs determinism (snapshots, key handling); the real worker is exercised in
test_ui_worker.py. Each fake has exactly the methods of the class it stands in
for (mypy checks them against the app's protocols): a fake with more would hide
a missing method, as a ``start`` on the attached fake once did.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from textual.app import App

from tetris_tui import protocol as p
from tetris_tui.config import Config
from tetris_tui.proctree import descendants

SNAPSHOT_DIR = Path(__file__).parent / "snapshots"
# A fixed clock for episode times: 2024-01-01 12:00:00 UTC.
T0 = 1_704_110_400.0


class _FakeWorker:
    """What both fakes share: a scripted worker that obeys commands."""

    attached = False
    read_only = False
    state = "idle"

    def __init__(self) -> None:
        self.started: list[Config] = []
        self.played: list[Path] = []
        self.sent: list[p.Command] = []
        self.pending: list[p.Event] = []
        self.stop_calls = 0
        self.fail_start: Exception | None = None
        self._alive = False
        self.timesteps = 0

    @property
    def alive(self) -> bool:
        return self._alive

    def push(self, *events: p.Event) -> None:
        self.pending.extend(events)

    def send(self, command: p.Command) -> None:
        if not self._alive:
            return
        self.sent.append(command)
        if isinstance(command, p.Pause):
            self.push(p.Status(p.PAUSED, self.timesteps))
        elif isinstance(command, p.Resume):
            self.push(p.Status(p.RUNNING, self.timesteps))
        elif isinstance(command, p.Stop):
            self._finish()

    def drain(self, max_items: int = 500) -> list[p.Event]:
        out = self.pending[:max_items]
        del self.pending[: len(out)]
        return out

    def stop(self, timeout: float = 15.0) -> None:
        self.stop_calls += 1
        if self._alive:
            self._finish()

    def detach(self) -> None:
        self.detached = True
        self._alive = False

    def shown_history_through(self, game: int) -> None:
        self.history_through = game

    def crash(
        self, message: str = "boom", traceback: str = "Traceback...\nValueError: boom"
    ) -> None:
        self.push(p.Error(message, traceback), p.Status(p.CRASHED, self.timesteps, message))
        self._alive = False

    def _finish(self) -> None:
        self.push(
            p.Checkpoint(p.LATEST, "run/latest/model.zip", self.timesteps),
            p.Status(p.STOPPED, self.timesteps),
        )
        self._alive = False


class FakeSession(_FakeWorker):
    """Scripted ``TrainingSession``: it starts workers."""

    def start(self, config: Config) -> None:
        if self.fail_start is not None:
            raise self.fail_start
        self.started.append(config)
        self._alive = True
        self.push(p.Status(p.STARTING), p.Status(p.RUNNING, self.timesteps))

    def start_play(
        self, config: Config, model_dir: Path, rules: Mapping[str, object] | None = None
    ) -> None:
        self.played.append(model_dir)
        self.start(config)


class FakeAttachedSession(_FakeWorker):
    """Scripted ``AttachedSession``: a viewer of a running trainer; it starts nothing."""

    attached = True

    def __init__(self, read_only: bool = False) -> None:
        super().__init__()
        self.read_only = read_only
        self.state = p.RUNNING
        self._alive = True


if TYPE_CHECKING:  # mypy: each fake is what the app takes, and only that
    from tetris_tui.session.attached import AttachedSession
    from tetris_tui.session.spawned import TrainingSession
    from tetris_tui.ui.session_control import SessionLike, StartableSession

    _spawned: StartableSession = TrainingSession()
    _attached: SessionLike = AttachedSession(Path("run"))
    _fake_spawned: StartableSession = FakeSession()
    _fake_attached: SessionLike = FakeAttachedSession()
    # A viewer starts nothing (warn_unused_ignores fails these if that changes).
    _no_start: StartableSession = AttachedSession(Path("run"))  # type: ignore[assignment]
    _no_fake_start: StartableSession = FakeAttachedSession()  # type: ignore[assignment]


def fixed_board() -> p.Board:
    """A mid-game board using every piece kind, with a highlighted placement."""
    rows = ["." * 10] * 12 + [
        "....T.....",
        "...TTT....",
        "I.......OO",
        "I..SS...OO",
        "I.SS.ZZ.LJ",
        "IJJJ..ZZLJ",
        "LLLTSSOOLJ",
        "LTTTSSOOJJ",
    ]
    codes = {".": 0, "I": 2, "O": 3, "T": 4, "S": 5, "Z": 6, "J": 7, "L": 8}
    cells = bytes(codes[c] for row in rows for c in row)
    highlight = bytes(
        1 if (r, c) in {(12, 4), (13, 3), (13, 4), (13, 5)} else 0
        for r in range(20)
        for c in range(10)
    )
    return p.Board(
        cells,
        next_pieces=(2, 3, 6, 5),
        hold=7,
        lines=12,
        pieces=47,
        highlight=highlight,
        timesteps=12_288,
    )


def fixed_episodes(n: int = 30) -> list[p.Episode]:
    """Deterministic games with a rising trend and a few records."""
    games = []
    for i in range(1, n + 1):
        lines = (i * 7) % 11 + i // 4
        games.append(
            p.Episode(
                episode=i,
                lines=lines,
                reward=lines * 10.0 + i * 1.5 - 10.0,
                pieces=20 + lines * 3,
                length=100 + i * 13,
                timesteps=i * 400,
                time=T0 + i * 17,
                duration_s=3.0,
            )
        )
    return games


def fixed_metrics(n: int = 12) -> list[p.Metrics]:
    out = []
    for i in range(1, n + 1):
        out.append(
            p.Metrics(
                timesteps=i * 1024,
                steps_per_sec=800.0 + (i % 5) * 40,
                episodes=i * 2,
                elapsed_s=i * 1.25 + 60,
                train={
                    "entropy": 1.9 - i * 0.05,
                    "value_loss": 50.0 / i,
                    "policy_loss": -0.01 * i,
                    "approx_kl": 0.002 * (1 + i % 4),
                    "clip_fraction": 0.05 + 0.01 * (i % 3),
                    "explained_variance": 0.1 * (i % 8),
                },
                updates=i,
            )
        )
    return out


def fixed_events() -> list[p.Event]:
    """A full batch: state, metrics, games, an evaluation and a board frame."""
    events: list[p.Event] = [p.Status(p.RUNNING, 0)]
    events.extend(fixed_metrics())
    events.extend(fixed_episodes())
    events.append(p.Evaluation(timesteps=10_000, games=3, lines_mean=9.0, lines_max=14.0))
    events.append(p.Evaluation(timesteps=12_000, games=3, lines_mean=11.5, lines_max=17.0))
    events.append(fixed_board())
    return events


def screen_text(app: App) -> str:
    """The screen as plain text, exactly as export_screenshot composes it."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    render = app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens, simplify=False
    )
    console.print(render)
    lines = console.export_text(styles=False).splitlines()
    return "\n".join(line.rstrip() for line in lines) + "\n"


def assert_snapshot(name: str, text: str) -> None:
    """Compare with tests/snapshots/<name>.txt; UPDATE_SNAPSHOTS=1 rewrites it."""
    path = SNAPSHOT_DIR / f"{name}.txt"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not path.exists():
        SNAPSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if os.environ.get("UPDATE_SNAPSHOTS") != "1":
            raise AssertionError(f"snapshot {path.name} was missing; written, check it in")
        return
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        actual = path.with_suffix(".actual.txt")
        actual.write_text(text, encoding="utf-8")
        raise AssertionError(
            f"screen differs from {path.name} (actual in {actual.name}; "
            f"UPDATE_SNAPSHOTS=1 to accept)\n--- expected\n{expected}\n--- actual\n{text}"
        )


def fixed_clock() -> None:
    """Episode times render in UTC, whatever the machine's zone."""
    os.environ["TZ"] = "UTC"
    time.tzset()


def feed(session: FakeSession, events: Iterable[p.Event]) -> None:
    session.push(*events)


HEAVY_MODULES = ("torch", "stable_baselines3", "tetris_gymnasium", "gymnasium")
FORBIDDEN_PREFIXES = (
    "tetris_tui.envs",
    "tetris_tui.policy",
    "tetris_tui.worker.callback",
    "tetris_tui.worker.model_factory",
)


def heavy_modules_loaded() -> list[str]:
    """Modules the UI process must never import."""
    import sys

    return sorted(
        name
        for name in sys.modules
        if name.split(".")[0] in HEAVY_MODULES or name.startswith(FORBIDDEN_PREFIXES)
    )


def real_config(run_dir: Path, **changes: object) -> Config:
    """A real PPO on the raw env (random-ish games end fast), sized for tests."""
    from conftest import small_config

    return small_config(run_dir, total_timesteps=200_000, fps=20.0).replace(**changes)


class WidgetHost(App[None]):
    """Hosts one widget alone, for widget tests and the board snapshot."""

    CSS = "Screen { background: $background; }"

    def __init__(self, widget: object) -> None:
        super().__init__()
        self.widget = widget

    def compose(self):
        yield self.widget


def child_pids(root: int | None = None) -> list[int]:
    """Live (non-zombie) descendants of ``root`` (default: this process), from /proc.

    multiprocessing's resource tracker is left out: it is a helper that lives as
    long as this interpreter by design, not something the app started.
    """
    from multiprocessing import resource_tracker

    root = os.getpid() if root is None else root
    tracker = getattr(resource_tracker._resource_tracker, "_pid", None)
    return descendants(root, keep=lambda pid: pid != tracker)
