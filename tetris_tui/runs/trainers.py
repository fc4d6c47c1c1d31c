"""Where a live trainer can be found: ``trainer.json``, its socket and its secret.

A trainer outlives the app that started it, so it leaves a card in its run
directory (``trainer.json``: pid, socket, protocol, a heartbeat of its state and
the time of its last training step) and one in a per-user registry, so
``tetris-tui ls`` finds every trainer, even one started elsewhere. A card is
believed only while its trainer holds the run's worker lock and its pid still
names the process that wrote it (same start time): a pid alone may have been
reused. The auth key (``.trainer-key``, 0600) and the socket (0600) keep other
OS users out; a viewer checks both are its own before trusting them (see
``check_private``). Stdlib only: viewers, ``ls`` and tests import it cheaply.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import socket
import stat
import struct
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tetris_tui.proctree import same_process, start_ticks
from tetris_tui.runs import runlock
from tetris_tui.runs.atomic import atomic_write_bytes

TRAINER_FILE = "trainer.json"
KEY_FILE = ".trainer-key"
SOCKET_NAME = "trainer.sock"
# AF_UNIX paths are limited to 107 bytes; longer ones go to a private directory.
_MAX_SOCKET_PATH = 100


class UnsafePathError(OSError):
    """A key, socket or directory that is not this user's own and private: planted?"""


@dataclass(frozen=True)
class TrainerInfo:
    """A trainer's card. ``state``, ``timesteps``, ``steps_per_sec``: its last heartbeat;
    ``last_step_at``: when it last took a training step (0: not yet)."""

    pid: int
    socket: str
    run_dir: str
    protocol: int
    proc_start: int = 0  # the pid's start time (clock ticks since boot); 0: unknown
    state: str = "starting"
    timesteps: int = 0
    steps_per_sec: float = 0.0
    updated_at: float = 0.0
    last_step_at: float = 0.0
    config: dict[str, Any] | None = None  # the run's Config.to_dict(), for viewers

    def alive(self) -> bool:
        """Its pid still names the process that wrote the card."""
        return same_process(self.pid, self.proc_start)


def check_private(
    path: Path, kind: str, want: int, info: os.stat_result | None = None
) -> os.stat_result:
    """``path`` is ours, of file type ``want`` (stat.S_IFREG, ...) and owner-only;
    else UnsafePathError in one line. Read with lstat (a symlink is refused too),
    unless ``info`` is given (an fstat of what was opened)."""
    info = os.lstat(path) if info is None else info
    problems = []
    if stat.S_IFMT(info.st_mode) != want:
        problems.append(f"not a {kind}")
    if info.st_uid != os.getuid():
        problems.append(f"owned by uid {info.st_uid}, not {os.getuid()}")
    if info.st_mode & 0o077:
        problems.append(f"mode {stat.S_IMODE(info.st_mode):04o}, not owner-only")
    if problems:
        raise UnsafePathError(f"refusing {path}: {', '.join(problems)} (planted?)")
    return info


def set_socket_timeouts(endpoint: Any, seconds: float) -> None:
    """Kernel send and receive timeouts (0: none) on a blocking socket (or a
    ``multiprocessing.connection.Connection`` on one), which reads and writes with
    plain os.read/os.write: a silent or stopped peer then fails it, not hangs it."""
    sock = socket.socket(fileno=os.dup(endpoint.fileno()))
    try:
        whole = int(seconds)
        value = struct.pack("ll", whole, int((seconds - whole) * 1e6))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)
    finally:
        sock.close()


def socket_path(run_dir: Path) -> Path:
    """The trainer's socket: in the run directory when the path is short enough."""
    inside = run_dir.resolve() / SOCKET_NAME
    if len(str(inside)) <= _MAX_SOCKET_PATH:
        return inside
    digest = hashlib.sha256(str(run_dir.resolve()).encode()).hexdigest()[:16]
    return private_dir() / f"{digest}.sock"


def private_dir() -> Path:
    """A directory only this user can enter (for sockets of deep run directories).

    ``<tmp>/tetris-tui-<uid>`` when it is our own directory (made 0700 if it was
    wider). One planted there by someone else (another owner, a symlink, a file)
    is refused, and a fresh private directory beside it is used instead: nobody
    can break attach, or listen in, that way.
    """
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir())
    path = base / f"tetris-tui-{os.getuid()}"
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    info = os.lstat(path)
    if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid():
        if info.st_mode & 0o077:
            os.chmod(path, 0o700)
        return path
    import warnings

    try:
        check_private(path, "directory", stat.S_IFDIR, info)
    except UnsafePathError as exc:
        warnings.warn(f"{exc}; using a fresh private directory instead", stacklevel=2)
    return Path(tempfile.mkdtemp(prefix=f"tetris-tui-{os.getuid()}-", dir=base))


def registry_dir() -> Path:
    """Per-user list of live trainers, wherever their run directories are."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "tetris-tui" / "trainers"


def new_key(run_dir: Path) -> bytes:
    """A fresh secret for this trainer, written owner-only before anyone can connect."""
    key = secrets.token_bytes(32)
    atomic_write_bytes(run_dir / KEY_FILE, key, mode=0o600, durable=False)
    return key


def read_key(run_dir: Path) -> bytes:
    """The trainer's secret. UnsafePathError when the file is not ours and 0600 (one
    planted by someone who knows it); other OSError (PermissionError) when unreadable."""
    path = run_dir / KEY_FILE
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        check_private(path, "file", stat.S_IFREG, os.fstat(fd))
        return handle.read(4096)


def write_card(run_dir: Path, info: TrainerInfo) -> None:
    """Write ``trainer.json`` and the registry entry, each atomically (not fsynced:
    a heartbeat rewritten every 2 s that a power cut may lose)."""
    data = (json.dumps(asdict(info), indent=2, sort_keys=True) + "\n").encode()
    atomic_write_bytes(run_dir / TRAINER_FILE, data, durable=False)
    with contextlib.suppress(OSError):  # the registry helps ``ls``; never fatal
        atomic_write_bytes(registry_dir() / f"{info.pid}.json", data, durable=False)


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
    """The trainer running in ``run_dir`` now, if any: its card, believed only while
    the worker lock is held (when we may probe it) and its pid is still its process."""
    card = read_card(run_dir)
    if card is None or runlock.probe(run_dir) is False:
        return None
    return card if card.alive() else None


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


def card_for(run_dir: Path, socket: Path, protocol: int, **heartbeat: Any) -> TrainerInfo:
    """A new card for this process."""
    return TrainerInfo(
        pid=os.getpid(),
        socket=str(socket),
        run_dir=str(run_dir.resolve()),
        protocol=protocol,
        proc_start=start_ticks(os.getpid()) or 0,
        **heartbeat,
    )
