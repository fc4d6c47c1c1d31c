"""Connecting to a live trainer's socket: find it, prove we hold the secret, say hello.

Stdlib only (plus the protocol), so that even a bare Python can show another OS
user the one line that refuses them.
"""

from __future__ import annotations

import socket
from multiprocessing.connection import (
    AuthenticationError,
    Connection,
    answer_challenge,
    deliver_challenge,
)
from pathlib import Path

from tetris_tui.protocol import Attach
from tetris_tui.runs.trainers import KEY_FILE, TrainerInfo, live_trainer, read_key


class AttachError(Exception):
    """Cannot attach; the message is one line for the user."""


def connect(run_dir: Path, read_only: bool = False) -> tuple[Connection, TrainerInfo]:
    """An authenticated connection to the trainer of ``run_dir``, Attach already sent."""
    card = live_trainer(run_dir)
    if card is None:
        raise AttachError(
            f"no trainer is running in {run_dir} "
            "(start one with `tetris-tui` or `tetris-tui --headless --detach`)"
        )
    try:
        key = read_key(run_dir)
    except PermissionError:
        raise AttachError(
            f"cannot read {run_dir / KEY_FILE}: permission denied "
            f"(the trainer, pid {card.pid}, belongs to another user)"
        ) from None
    except OSError as exc:
        raise AttachError(f"cannot read {run_dir / KEY_FILE}: {exc.strerror}") from None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(5.0)
        sock.connect(card.socket)
        sock.settimeout(None)
    except PermissionError:
        sock.close()
        raise AttachError(
            f"cannot connect to the trainer of {run_dir} (pid {card.pid}): permission "
            "denied; it belongs to another user"
        ) from None
    except OSError as exc:
        sock.close()
        reason = exc.strerror or type(exc).__name__
        raise AttachError(
            f"the trainer of {run_dir} (pid {card.pid}) does not answer ({reason})"
        ) from None
    connection = Connection(sock.detach())
    try:
        answer_challenge(connection, key)
        deliver_challenge(connection, key)
        connection.send(Attach(read_only=read_only))
    except AuthenticationError:
        connection.close()
        raise AttachError(f"the trainer of {run_dir} refused the run's key") from None
    except (OSError, EOFError) as exc:
        connection.close()
        raise AttachError(f"the trainer of {run_dir} hung up ({exc})") from None
    return connection, card
