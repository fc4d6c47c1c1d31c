"""Atomic file writes: a kill at any moment leaves the previous file whole."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from tetris_tui import faults
from tetris_tui.proctree import pid_alive

TEMP_SUFFIX = ".tmp"
# ``.<name>.<pid>.<random>.tmp``: the pid says whether its writer may still be running.
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.tmp$")
# Temp files without a live writer's pid are stale after this long (seconds).
STALE_AFTER = 3600.0


def atomic_write_bytes(
    path: Path, data: bytes, mode: int | None = None, durable: bool = True
) -> None:
    """Write to a temp file in the same directory, fsync, then ``os.replace``.

    ``mode``: the file's permissions (e.g. 0o600 for a secret: it never exists
    with wider ones, even as a temp file); default, as any file we write.
    ``durable=False`` skips the fsyncs, for files rewritten every few seconds whose
    loss in a power cut costs nothing (``trainer.json``): still never torn.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.{os.getpid()}.", suffix=TEMP_SUFFIX, dir=path.parent
    )
    try:
        # mkstemp makes 0600 files; a checkpoint is as readable as any file we write.
        os.fchmod(fd, 0o666 & ~_umask() if mode is None else mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        _fsync_dir(path.parent)


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_bytes(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (best effort: not every filesystem allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temp_files(directory: Path) -> list[Path]:
    """Delete temp files left in ``directory`` by writers that died mid-write.

    A temp file is stale when the pid in its name is not running (or is ours:
    we are not writing it), or, for names without a pid, when it is old.
    """
    removed = []
    try:
        entries = list(directory.iterdir())
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if not (entry.name.startswith(".") and entry.name.endswith(TEMP_SUFFIX)):
            continue
        match = _TEMP_NAME.match(entry.name)
        try:
            if match:
                pid = int(match["pid"])
                if pid != os.getpid() and pid_alive(pid):
                    continue
            elif now - entry.stat().st_mtime < STALE_AFTER:
                continue
            if entry.is_file():
                entry.unlink()
                removed.append(entry)
        except OSError:
            continue
    return removed


def _umask() -> int:
    """The process umask, read without changing it (``os.umask`` is racy with threads)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


# -- whole directories ---------------------------------------------------------------

_DIR_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[0-9a-f]+\.(?P<stage>new|old)$")


def atomic_write_dir(directory: Path, files: dict[str, bytes]) -> None:
    """Replace ``directory`` with one holding ``files``, as one unit.

    The files are written and fsynced in a hidden sibling first; then the old
    directory is renamed aside and the new one renamed into place. A kill at any
    instant leaves either the old directory or the new one whole — or, between
    the two renames, no directory but both siblings whole, which
    ``recover_dir`` puts back (the newer one wins).
    """
    parent = directory.parent
    parent.mkdir(parents=True, exist_ok=True)
    tag = f"{os.getpid()}.{secrets.token_hex(4)}"
    new = parent / f".{directory.name}.{tag}.new"
    old = parent / f".{directory.name}.{tag}.old"
    new.mkdir()
    moved_aside = False
    try:
        for name, data in files.items():
            _write_synced(new / name, data)
        _fsync_dir(new)
        faults.kill_in_save("written", directory)
        if directory.exists():
            os.rename(directory, old)
            moved_aside = True
        faults.kill_in_save("swapping", directory)
        os.rename(new, directory)
        _fsync_dir(parent)
    except BaseException:
        if moved_aside and not directory.exists():
            with contextlib.suppress(OSError):
                os.rename(old, directory)
        shutil.rmtree(new, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)


def recover_dir(directory: Path) -> Path | None:
    """Finish or undo a directory swap cut short by a kill; clear dead writers' siblings.

    Returns the sibling that became ``directory``, if any. Siblings of a writer
    that is still running are left alone.
    """
    parent = directory.parent
    try:
        entries = list(parent.iterdir())
    except OSError:
        return None
    dead: list[tuple[str, Path]] = []
    for entry in entries:
        match = _DIR_TEMP.match(entry.name)
        if not match or match["name"] != directory.name or not entry.is_dir():
            continue
        pid = int(match["pid"])
        if pid != os.getpid() and pid_alive(pid):
            continue
        dead.append((match["stage"], entry))
    restored = None
    if not directory.exists():
        # A ``new`` sibling was complete before the old directory moved; prefer it.
        for stage in ("new", "old"):
            found = sorted((p for s, p in dead if s == stage), key=_mtime, reverse=True)
            if found:
                with contextlib.suppress(OSError):
                    os.rename(found[0], directory)
                    restored = found[0]
                break
    for _, entry in dead:
        if entry != restored:
            shutil.rmtree(entry, ignore_errors=True)
    return restored


def _write_synced(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
