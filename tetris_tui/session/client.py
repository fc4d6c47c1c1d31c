"""Connecting to a live trainer's socket: find it, prove we hold the secret, say hello.

Stdlib only (plus the protocol), so that even a bare Python can show another OS
user the one line that refuses them. Nothing is unpickled from a peer before
three checks (OpenSSH's habit with keys): the key file and the socket are this
user's own and owner-only, and the process at the other end runs as this user.
``connect`` returns once the trainer's first message (its Hello) has arrived:
by then the viewer is subscribed, so history read afterwards meets the live
games with no gap.
"""

from __future__ import annotations

import os
import socket
import stat
import struct
from multiprocessing import AuthenticationError
from multiprocessing.connection import Connection, answer_challenge, deliver_challenge
from pathlib import Path
from typing import Any

from tetris_tui.protocol import Attach
from tetris_tui.runs.trainers import (
    KEY_FILE,
    TrainerInfo,
    UnsafePathError,
    check_private,
    live_trainer,
    read_key,
    set_socket_timeouts,
)

# How long the trainer may take to authenticate us and send its Hello.
HELLO_SECONDS = 15.0


class AttachError(Exception):
    """Cannot attach; the message is one line for the user."""


def connect(
    run_dir: Path, read_only: bool = False, hello_seconds: float = HELLO_SECONDS
) -> tuple[Connection, TrainerInfo, Any]:
    """An authenticated connection to the trainer of ``run_dir``, Attach sent, and the
    trainer's first message (a list starting with its Hello)."""
    card = live_trainer(run_dir)
    if card is None:
        raise AttachError(
            f"no trainer is running in {run_dir} "
            "(start one with `tetris-tui` or `tetris-tui --headless --detach`)"
        )
    try:
        key = read_key(run_dir)
    except UnsafePathError as exc:
        raise AttachError(str(exc)) from None
    except PermissionError:
        raise AttachError(
            f"cannot read {run_dir / KEY_FILE}: permission denied "
            f"(the trainer, pid {card.pid}, belongs to another user)"
        ) from None
    except OSError as exc:
        raise AttachError(f"cannot read {run_dir / KEY_FILE}: {exc.strerror}") from None
    try:
        check_private(Path(card.socket), "socket", stat.S_IFSOCK)
    except UnsafePathError as exc:
        raise AttachError(str(exc)) from None
    except OSError as exc:
        raise AttachError(
            f"the trainer of {run_dir} (pid {card.pid}) has no socket at {card.socket} "
            f"({exc.strerror})"
        ) from None
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
    peer = _peer_uid(sock)
    if peer != os.getuid():
        sock.close()
        raise AttachError(
            f"refusing {card.socket}: the process behind it runs as uid {peer}, "
            f"not {os.getuid()} (planted?)"
        )
    set_socket_timeouts(sock, hello_seconds)  # a stopped or hung trainer cannot hold us
    connection = Connection(sock.detach())
    try:
        answer_challenge(connection, key)
        deliver_challenge(connection, key)
        connection.send(Attach(read_only=read_only))
        if not connection.poll(hello_seconds):
            raise TimeoutError
        first = connection.recv()
        set_socket_timeouts(connection, 0.0)  # from now on, the reader thread waits for events
    except AuthenticationError:
        connection.close()
        raise AttachError(f"the trainer of {run_dir} refused the run's key") from None
    except (BlockingIOError, TimeoutError):
        connection.close()
        raise AttachError(
            f"the trainer of {run_dir} (pid {card.pid}) does not answer within "
            f"{hello_seconds:g} s: is it stopped or hung? (`tetris-tui ls` says)"
        ) from None
    except (OSError, EOFError) as exc:
        connection.close()
        raise AttachError(f"the trainer of {run_dir} hung up ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - a first message we cannot unpickle
        connection.close()
        raise AttachError(f"the trainer of {run_dir} sent something unreadable ({exc})") from None
    return connection, card, first


def _peer_uid(sock: socket.socket) -> int | None:
    """The uid of the process at the other end (SO_PEERCRED), None where unknown."""
    try:
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except (OSError, AttributeError):
        return os.getuid()  # not Linux: the socket's owner and mode were checked
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid
