"""Running a command as another OS user (``nobody``), for the cross-user tests.

As root, ``setpriv`` drops to ``nobody``; as anyone else, ``sudo -n -u nobody``
when sudo allows it without a password. Where neither works there is no second
user to test with, and the tests say so when they skip.
"""

from __future__ import annotations

import functools
import os
import pwd
import shutil
import subprocess
from pathlib import Path

SYSTEM_PYTHON = Path("/usr/bin/python3")
OTHER = "nobody"


@functools.cache
def _prefix() -> tuple[list[str] | None, str]:
    """The command prefix that runs as ``nobody``, or None and why not."""
    try:
        pwd.getpwnam(OTHER)
    except KeyError:
        return None, f"no user {OTHER!r} on this machine"
    if not SYSTEM_PYTHON.exists():
        return None, f"no {SYSTEM_PYTHON} for {OTHER!r} to run"
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            return None, "root, but no setpriv to drop to another user"
        gid = pwd.getpwnam(OTHER).pw_gid
        return ["setpriv", f"--reuid={OTHER}", f"--regid={gid}", "--clear-groups"], ""
    sudo = shutil.which("sudo")
    if sudo is not None:
        probe = subprocess.run(
            [sudo, "-n", "-u", OTHER, "true"], capture_output=True, timeout=30, check=False
        )
        if probe.returncode == 0:
            return [sudo, "-n", "-u", OTHER], ""
    return None, f"not root, and no sudo that runs commands as {OTHER!r} without a password"


def other_user_prefix() -> list[str] | None:
    return _prefix()[0]


def why_no_other_user() -> str:
    return _prefix()[1]


def other_uid() -> int:
    return pwd.getpwnam(OTHER).pw_uid


def run_python_as_other(script: str, pythonpath: Path, timeout: float = 60):
    """``script`` in the system Python as ``nobody``, with ``pythonpath`` importable."""
    prefix = other_user_prefix()
    assert prefix is not None, why_no_other_user()
    env = {"PYTHONPATH": str(pythonpath), "PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}
    if prefix[0].endswith("sudo"):  # sudo drops the environment unless told to keep it
        prefix = [*prefix, "env", *(f"{k}={v}" for k, v in env.items())]
    return subprocess.run(
        [*prefix, str(SYSTEM_PYTHON), "-c", script],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
