"""The trainer's side of attached viewers: an owner-only unix socket, auth, outboxes.

Each viewer authenticates with the run's secret (``multiprocessing.connection``'s
HMAC challenge, both ways), says whether it is read-only, then gets the same
typed events the spawning app gets on its queue: first a ``Hello``, then the
last status, metrics and board, then everything live. The viewer is subscribed
before its Hello is sent, and it waits for the Hello: whatever it reads from
history after that meets the live games with no gap. Each viewer has its own
``Outbox`` and two threads (send, receive), so a slow or frozen viewer only
ever fills its own bounded buffer; the handshake and the goodbye are bounded in
time too. Commands from viewers that may command go into the worker's command
channel like the app's.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import (
    Connection,
    answer_challenge,
    deliver_challenge,
)
from pathlib import Path
from typing import Any

from tetris_tui import faults
from tetris_tui.protocol import Attach, Command, Event, Hello, Metrics, Status
from tetris_tui.runs.trainers import (
    KEY_FILE,
    card_for,
    new_key,
    remove_card,
    set_socket_timeouts,
    socket_path,
    write_card,
)
from tetris_tui.worker.outbox import DEFAULT_LIMIT, Outbox

HANDSHAKE_SECONDS = 5.0  # a connection that has not authenticated and attached by then goes
HEARTBEAT_SECONDS = 2.0
GOODBYE_SECONDS = 2.0  # close() waits this long in all for viewers to take their last events
SEND_BUFFER = 32 * 1024


class ViewerServer:
    """Started by the worker once it holds the run's lock; closed when it ends."""

    def __init__(
        self,
        run_dir: Path,
        on_command: Callable[[Command], None],
        protocol: int,
        role: str = "train",
        config: dict[str, Any] | None = None,
    ) -> None:
        self.run_dir = run_dir
        self.config = config
        self.on_command = on_command
        self.protocol = protocol
        self.role = role
        # Held while an event is written to history and offered to viewers, and
        # while a viewer subscribes: a viewer that reads history after subscribing
        # misses nothing (and drops the few games it may see twice by number).
        self.lock = threading.Lock()
        self._viewers: list[_Viewer] = []
        self._snapshot: dict[str, Event] = {}
        self._closed = threading.Event()
        self._socket: socket.socket | None = None
        self._last_step_at = 0.0  # when a training step last happened (time.time())
        self._last_steps = -1
        self.path = run_dir / "trainer.sock"  # where it goes is decided in start()

    # -- life cycle ------------------------------------------------------------------

    def start(self) -> None:
        """OSError (one line) when viewers cannot attach: training goes on without them."""
        self.path = socket_path(self.run_dir)
        self._key = new_key(self.run_dir)
        try:
            self._socket = _listen(self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                (self.run_dir / KEY_FILE).unlink()  # a key for a socket that never was
            raise
        write_card(self.run_dir, self._card())
        threading.Thread(target=self._accept_loop, name="viewer-accept", daemon=True).start()
        threading.Thread(target=self._heartbeat, name="trainer-heartbeat", daemon=True).start()

    def close(self) -> None:
        """Say goodbye to every viewer (they see the last events) and take the cards down.

        Bounded (``GOODBYE_SECONDS`` in all, however many viewers are frozen) and it
        never raises: the worker releases its lock after it.
        """
        self._closed.set()
        with self.lock:
            viewers, self._viewers = self._viewers, []
        for viewer in viewers:
            viewer.outbox.close()
        deadline = time.monotonic() + GOODBYE_SECONDS
        for viewer in viewers:
            viewer.join_sender(max(0.0, deadline - time.monotonic()))
        for viewer in viewers:
            viewer.hang_up()
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.close()
        with contextlib.suppress(OSError):
            self.path.unlink()
        if self.path.parent.name.startswith(f"tetris-tui-{os.getuid()}-"):
            with contextlib.suppress(OSError):
                self.path.parent.rmdir()  # a fresh one, made when the usual was planted
        with contextlib.suppress(OSError):
            (self.run_dir / KEY_FILE).unlink()  # no secret outlives its trainer
        with contextlib.suppress(OSError):
            remove_card(self.run_dir, os.getpid())

    # -- events ----------------------------------------------------------------------

    def publish(self, item: Event | list[Event]) -> None:
        """Offer an event (or a batch of games) to every viewer. Call with ``lock`` held."""
        if isinstance(item, Event) and (item.droppable or isinstance(item, Status)):
            self._snapshot[item.kind] = item
            if isinstance(item, Metrics):
                self.note_step(item.timesteps)
        for viewer in self._viewers:
            viewer.outbox.offer(item)

    def note_step(self, timesteps: int) -> None:
        """Training has reached ``timesteps``: the card says when it last moved, so ``ls``
        can tell a hung trainer (whose heartbeat thread may go on) from a live one.

        Fed by the training loop's metrics (a few a second, from ``_on_step``): a
        trainer stuck anywhere in its loop sends none.
        """
        if timesteps != self._last_steps:
            self._last_steps = timesteps
            self._last_step_at = time.time()

    @property
    def viewers(self) -> int:
        return len(self._viewers)

    # -- connections -----------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._socket is not None
        while not self._closed.is_set():
            try:
                client, _ = self._socket.accept()
            except OSError:
                return  # closed
            threading.Thread(
                target=self._admit, args=(client,), name="viewer-handshake", daemon=True
            ).start()

    def _admit(self, client: socket.socket) -> None:
        """Authenticate, read the viewer's Attach, subscribe it, and only then say Hello."""
        hello = Hello(self.protocol, os.getpid(), self.role)
        connection: Connection | None = None
        try:
            # A small kernel buffer: what a slow viewer has not read waits in its
            # outbox, where stale frames are replaced, not in the kernel.
            client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
            set_socket_timeouts(client, HANDSHAKE_SECONDS)  # a silent peer cannot hold us
            connection = Connection(client.detach())
            deliver_challenge(connection, self._key)
            answer_challenge(connection, self._key)
            if not connection.poll(HANDSHAKE_SECONDS):
                raise TimeoutError("no Attach")
            attach = connection.recv()
            if not isinstance(attach, Attach):
                raise ValueError("the first message must be Attach")
            if attach.protocol != self.protocol:
                connection.send([hello])  # the viewer says so from our Hello
                raise ValueError("another protocol")
            set_socket_timeouts(connection, 0.0)  # from now on its threads wait as long as needed
        except Exception:  # noqa: BLE001 - a bad peer, whatever it sent: drop it
            with contextlib.suppress(Exception):
                (connection or client).close()
            return
        viewer = _Viewer(connection, attach.read_only, self, greeting=hello)
        with self.lock:
            closing = self._closed.is_set()
            if not closing:
                for event in self._snapshot.values():
                    viewer.outbox.offer(event)
                self._viewers.append(viewer)
        if closing:
            viewer.hang_up()  # outside the lock: it takes the lock to forget the viewer
            return
        viewer.start()  # its sender says Hello first

    def _forget(self, viewer: _Viewer) -> None:
        with self.lock:
            if viewer in self._viewers:
                self._viewers.remove(viewer)

    def _card(self) -> Any:
        status = self._snapshot.get(Status.kind)
        metrics = self._snapshot.get(Metrics.kind)
        heartbeat: dict[str, Any] = {"updated_at": time.time(), "last_step_at": self._last_step_at}
        if isinstance(status, Status):
            heartbeat["state"] = status.state
            heartbeat["timesteps"] = status.timesteps
        if isinstance(metrics, Metrics):
            heartbeat["timesteps"] = max(heartbeat.get("timesteps", 0), metrics.timesteps)
            heartbeat["steps_per_sec"] = metrics.steps_per_sec
        return card_for(self.run_dir, self.path, self.protocol, config=self.config, **heartbeat)

    def _heartbeat(self) -> None:
        """Keep ``trainer.json`` current, so ``ls`` shows state and speed without a socket."""
        while not self._closed.wait(HEARTBEAT_SECONDS):
            with contextlib.suppress(OSError):
                write_card(self.run_dir, self._card())


class _Viewer:
    """One attached viewer: its outbox, a sender thread and a receiver thread."""

    def __init__(
        self,
        connection: Connection,
        read_only: bool,
        server: ViewerServer,
        greeting: Event | None = None,
    ) -> None:
        self.connection = connection
        self.read_only = read_only
        self.server = server
        self.outbox = Outbox(faults.outbox_limit(DEFAULT_LIMIT))
        self._greeting = [greeting] if greeting is not None else []
        self._gone = threading.Event()
        self._sender = threading.Thread(target=self._send_loop, name="viewer-send", daemon=True)
        self._receiver = threading.Thread(
            target=self._receive_loop, name="viewer-recv", daemon=True
        )

    def start(self) -> None:
        self._sender.start()
        self._receiver.start()

    def join_sender(self, timeout: float) -> None:
        """Wait (at most ``timeout``) for the sender to send what is left; a viewer
        subscribed but not started yet has nothing to wait for."""
        if self._sender.ident is not None:
            self._sender.join(timeout)

    def _send_loop(self) -> None:
        while not self._gone.is_set():
            # The Hello goes first, ahead of anything its outbox got since it subscribed.
            items = self._greeting + self.outbox.take(timeout=0.5)
            self._greeting = []
            if items:
                try:
                    self.connection.send(items)
                except (OSError, ValueError, TypeError):  # TypeError: closed under the send
                    break
            elif self.outbox.closed:
                return
        self.hang_up()

    def _receive_loop(self) -> None:
        while not self._gone.is_set():
            try:
                message = self.connection.recv()
            except (OSError, EOFError, ValueError):
                break
            except Exception:  # noqa: BLE001 - a message we cannot unpickle: drop the viewer
                break
            if isinstance(message, Command) and not self.read_only:
                self.server.on_command(message)
        self.hang_up()

    def hang_up(self) -> None:
        """Close the connection; a thread blocked on it (a frozen viewer) wakes up."""
        if self._gone.is_set():
            return
        self._gone.set()
        self.outbox.close()
        self.server._forget(self)
        with contextlib.suppress(OSError, ValueError):
            # shutdown, not only close: close leaves a send blocked on a full buffer.
            sock = socket.socket(fileno=os.dup(self.connection.fileno()))
            try:
                sock.shutdown(socket.SHUT_RDWR)
            finally:
                sock.close()
        with contextlib.suppress(OSError):
            self.connection.close()


def _listen(path: Path) -> socket.socket:
    """Bind an owner-only socket at ``path`` with no window where others could connect.

    It is bound inside a fresh 0700 directory, made 0600, and only then renamed
    into place.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a socket left by a killed trainer (we hold the run's lock)
    staging = Path(tempfile.mkdtemp(prefix=".sock-", dir=path.parent))
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        staged = staging / "s"
        server.bind(str(staged))
        os.chmod(staged, 0o600)
        os.rename(staged, path)
        server.listen(16)
    except BaseException:
        server.close()
        raise
    finally:
        with contextlib.suppress(OSError):
            os.rmdir(staging)
    return server
