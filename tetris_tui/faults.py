"""Fault injection for tests: ``TETRIS_TUI_FAULT`` makes the worker fail on purpose.

Never set in normal use; reliability tests set it to reach failure paths that
have no clean trigger otherwise. The value is a comma-separated list of:

``raise-at-step:N``
    the training callback raises ``RuntimeError`` once timesteps reach N
    (an error deep inside ``learn()``, as a broken env would raise).
``save-fails``
    every checkpoint save raises ``OSError(ENOSPC)`` (a full disk).
``kill-in-save:STAGE``
    the process SIGKILLs itself in the middle of its first save of ``latest``
    (the checkpoint a resume reads; a ``best`` saved before it is left alone):
    ``written`` (new files complete, old checkpoint untouched) or ``swapping``
    (old checkpoint renamed aside, new one not yet in place).
``protocol:N``
    the worker announces protocol version N instead of its own.
``outbox-limit:N``
    an attached viewer may fall only N games behind before it must resync.

This module imports nothing heavy: ``checkpoints`` uses it in the UI process too.
"""

from __future__ import annotations

import errno
import os
import signal
from pathlib import Path

from tetris_tui.protocol import LATEST

ENV_VAR = "TETRIS_TUI_FAULT"
_KNOWN = ("raise-at-step", "save-fails", "kill-in-save", "protocol", "outbox-limit")


def active() -> dict[str, str]:
    """The faults asked for, name -> argument ("" when none); empty when unset."""
    text = os.environ.get(ENV_VAR, "").strip()
    faults: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, arg = item.partition(":")
        if name not in _KNOWN:
            raise ValueError(f"{ENV_VAR}: unknown fault {name!r} (known: {', '.join(_KNOWN)})")
        faults[name] = arg
    return faults


def raise_at_step() -> int | None:
    """Timestep at which training should raise, or None."""
    arg = active().get("raise-at-step")
    if arg is None:
        return None
    try:
        return int(arg)
    except ValueError:
        raise ValueError(f"{ENV_VAR}: raise-at-step needs a timestep, got {arg!r}") from None


def check_save(path: Path) -> None:
    """Raise the injected disk-full error when ``save-fails`` is on."""
    if "save-fails" in active():
        raise OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} (injected)", str(path))


def kill_in_save(stage: str, directory: Path) -> None:
    """SIGKILL this process at ``stage`` of a save of ``latest``, when asked to."""
    if (
        os.environ.get(ENV_VAR)
        and directory.name == LATEST
        and active().get("kill-in-save") == stage
    ):
        os.kill(os.getpid(), signal.SIGKILL)


def protocol_version(default: int) -> int:
    """The protocol version a worker announces (another one only under test)."""
    arg = active().get("protocol")
    try:
        return int(arg) if arg is not None else default
    except ValueError:
        raise ValueError(f"{ENV_VAR}: protocol needs a number, got {arg!r}") from None


def outbox_limit(default: int) -> int:
    """How far behind an attached viewer may fall (smaller only under test)."""
    arg = active().get("outbox-limit")
    return int(arg) if arg else default
