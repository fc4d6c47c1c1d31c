"""Where a live trainer can be found: ``trainer.json``, its socket and its secret.

A trainer outlives the app that started it, so it leaves a card in its run
directory (``trainer.json``: pid, socket, protocol, a heartbeat of its state) and
one in a per-user registry, so ``tetris-tui ls`` finds every trainer, even one
started elsewhere. The auth key (``.trainer-key``, 0600) and the socket (0600)
keep other OS users out. Stdlib only: viewers, ``ls`` and tests import it cheaply.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tetris_tui.proctree import pid_alive

TRAINER_FILE = "trainer.json"
KEY_FILE = ".trainer-key"
SOCKET_NAME = "trainer.sock"
# AF_UNIX paths are limited to 107 bytes; longer ones go to a private directory.
_MAX_SOCKET_PATH = 100


@dataclass(frozen=True)
class TrainerInfo:
    """A trainer's card. ``state``, ``timesteps``, ``steps_per_sec``: its last heartbeat."""

    pid: int
    socket: str
    run_dir: str
    protocol: int
    started_at: float
    state: str = "starting"
    timesteps: int = 0
    steps_per_sec: float = 0.0
    updated_at: float = 0.0
    config: dict[str, Any] | None = None  # the run's Config.to_dict(), for viewers

    def alive(self) -> bool:
        return pid_alive(self.pid)


def socket_path(run_dir: Path) -> Path:
    """The trainer's socket: in the run directory when the path is short enough."""
    inside = run_dir.resolve() / SOCKET_NAME
    if len(str(inside)) <= _MAX_SOCKET_PATH:
        return inside
    digest = hashlib.sha256(str(run_dir.resolve()).encode()).hexdigest()[:16]
    return private_dir() / f"{digest}.sock"


def private_dir() -> Path:
    """A directory only this user can enter (for sockets of deep run directories)."""
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir())
    path = base / f"tetris-tui-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def registry_dir() -> Path:
    """Per-user list of live trainers, wherever their run directories are."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "tetris-tui" / "trainers"


def new_key(run_dir: Path) -> bytes:
    """A fresh secret for this trainer, written owner-only before anyone can connect."""
    key = secrets.token_bytes(32)
    path = run_dir / KEY_FILE
    tmp = path.with_name(f".{KEY_FILE}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(key)
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    return key


def read_key(run_dir: Path) -> bytes:
    """The trainer's secret; OSError (e.g. PermissionError) when it cannot be read."""
    return (run_dir / KEY_FILE).read_bytes()


def write_card(run_dir: Path, info: TrainerInfo) -> None:
    """Write ``trainer.json`` and the registry entry, each atomically."""
    text = json.dumps(asdict(info), indent=2, sort_keys=True) + "\n"
    _replace_text(run_dir / TRAINER_FILE, text)
    with contextlib.suppress(OSError):  # the registry helps ``ls``; never fatal
        registry = registry_dir()
        registry.mkdir(parents=True, exist_ok=True)
        _replace_text(registry / f"{info.pid}.json", text)


def remove_card(run_dir: Path, pid: int) -> None:
    """The trainer is ending: take its cards down (only its own)."""
    card = read_card(run_dir)
    if card is not None and card.pid == pid:
        with contextlib.suppress(OSError):
            (run_dir / TRAINER_FILE).unlink()
    with contextlib.suppress(OSError):
        (registry_dir() / f"{pid}.json").unlink()


def read_card(run_dir: Path) -> TrainerInfo | None:
    """``trainer.json`` of a run directory, or None when there is none (or it is bad)."""
    return _parse(run_dir / TRAINER_FILE)


def live_trainer(run_dir: Path) -> TrainerInfo | None:
    """The trainer running in ``run_dir`` now, if any."""
    card = read_card(run_dir)
    return card if card is not None and card.alive() else None


def registered_trainers() -> list[TrainerInfo]:
    """Every live trainer of this user; entries of dead ones are removed."""
    found = []
    try:
        entries = sorted(registry_dir().glob("*.json"))
    except OSError:
        return found
    for entry in entries:
        card = _parse(entry)
        if card is not None and card.alive():
            found.append(card)
        else:
            with contextlib.suppress(OSError):
                entry.unlink()
    return found


def _parse(path: Path) -> TrainerInfo | None:
    try:
        data = json.loads(path.read_text())
        known = set(TrainerInfo.__dataclass_fields__)
        return TrainerInfo(**{k: v for k, v in data.items() if k in known})
    except (OSError, ValueError, TypeError):
        return None


def _replace_text(path: Path, text: str) -> None:
    """Write then rename; a failed write (a full disk) leaves no temp file behind."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def card_for(run_dir: Path, socket: Path, protocol: int, **heartbeat: Any) -> TrainerInfo:
    """A new card for this process."""
    return TrainerInfo(
        pid=os.getpid(),
        socket=str(socket),
        run_dir=str(run_dir.resolve()),
        protocol=protocol,
        started_at=time.time(),
        **heartbeat,
    )
