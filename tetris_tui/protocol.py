"""Messages between the UI process and the training worker.

Events flow worker -> UI on the events queue; commands flow UI -> worker on the
commands queue. Both sides import this module, so it imports nothing heavy:
no torch, no env, no UI. Every message is a small frozen dataclass that pickles
cheaply. Bump ``PROTOCOL_VERSION`` when a field changes meaning: every worker
announces its version in its first event (``Hello``), and a client that speaks
another version says so in one line instead of misreading what follows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

PROTOCOL_VERSION = 4  # 4: System events, Metrics.running_*

BOARD_ROWS = 20
BOARD_COLS = 10

# Cell values on the board, as tetris-gymnasium numbers them.
EMPTY = 0
PIECE_NAMES = {2: "I", 3: "O", 4: "T", 5: "S", 6: "Z", 7: "J", 8: "L"}

# Worker states, in the order a run usually goes through them.
STARTING = "starting"
RUNNING = "running"
PAUSED = "paused"
STOPPING = "stopping"
STOPPED = "stopped"
FINISHED = "finished"
CRASHED = "crashed"
TERMINAL_STATES = frozenset({STOPPED, FINISHED, CRASHED})

# Checkpoint names.
LATEST = "latest"
BEST = "best"
FINAL = "final"


@dataclass(frozen=True)
class Event:
    """Base of every worker -> UI message."""

    kind: ClassVar[str] = "event"
    # Whether a full queue may drop it (only board frames and metrics).
    droppable: ClassVar[bool] = False

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form, for events.jsonl.

        A shallow copy: history events are flat, and ``asdict``'s deep copy cost
        more than the rest of a game's reporting put together.
        """
        data = dict(vars(self))
        data["kind"] = self.kind
        return data


@dataclass(frozen=True)
class Hello(Event):
    """A worker's first event: the protocol it speaks, and who it is."""

    kind: ClassVar[str] = "hello"
    protocol: int
    pid: int
    role: str  # "train" or "play"


def protocol_mismatch(first: object, speaker: str) -> str | None:
    """None when ``first`` is a ``Hello`` of this protocol; else the one line to show."""
    if isinstance(first, Hello) and first.protocol == PROTOCOL_VERSION:
        return None
    spoken = first.protocol if isinstance(first, Hello) else "no version"
    return (
        f"the {speaker} speaks protocol {spoken}, this tetris-tui speaks {PROTOCOL_VERSION}: "
        "reinstall so that both come from the same version"
    )


@dataclass(frozen=True)
class Pong(Event):
    """The answer to ``Ping``: proves a command arrived (and when)."""

    kind: ClassVar[str] = "pong"
    token: int


@dataclass(frozen=True)
class Resync(Event):
    """To one attached viewer: it fell too far behind and events were dropped for it.

    Games are never lost: the viewer reads the ones it missed from events.jsonl
    (it was re-subscribed before this event, so nothing falls between).
    """

    kind: ClassVar[str] = "resync"


@dataclass(frozen=True)
class Status(Event):
    kind: ClassVar[str] = "status"
    state: str
    timesteps: int = 0
    message: str = ""


@dataclass(frozen=True)
class Metrics(Event):
    """A time-bounded tick of learning figures; NaN never appears (None instead)."""

    kind: ClassVar[str] = "metrics"
    droppable: ClassVar[bool] = True
    timesteps: int
    steps_per_sec: float
    episodes: int
    elapsed_s: float
    lines_last: float | None = None
    lines_mean: float | None = None
    lines_max: float | None = None
    reward_mean: float | None = None
    pieces_mean: float | None = None
    # PPO update figures (entropy, value_loss, policy_loss, approx_kl, clip_fraction,
    # explained_variance), present only in the first tick after an update finished.
    train: dict[str, float] = field(default_factory=dict)
    updates: int = 0
    # CPU seconds the worker process (all its threads) used since training began:
    # with elapsed_s it says whether training gets a whole core.
    cpu_s: float = 0.0
    # The games still being played, counted by their lines so far (mean, and how many):
    # once games are long, the ones that finish first are the short ones (issue #22).
    running_lines: float | None = None
    running_games: int = 0


@dataclass(frozen=True)
class Board(Event):
    """One frame of env 0: 200 bytes of cell values, row-major, top row first."""

    kind: ClassVar[str] = "board"
    droppable: ClassVar[bool] = True
    cells: bytes
    next_pieces: tuple[int, ...] = ()
    hold: int | None = None
    lines: int = 0
    pieces: int = 0
    # 200 bytes, non-zero where the piece just placed lies (placement env), else None.
    highlight: bytes | None = None
    timesteps: int = 0


@dataclass(frozen=True)
class Episode(Event):
    """One finished game. Lines are summed over the whole game."""

    kind: ClassVar[str] = "episode"
    episode: int
    lines: int
    reward: float
    pieces: int
    length: int
    timesteps: int
    time: float
    duration_s: float = 0.0
    env_index: int = 0
    capped: bool = False


@dataclass(frozen=True)
class Checkpoint(Event):
    kind: ClassVar[str] = "checkpoint"
    which: str
    path: str
    timesteps: int
    lines_mean: float | None = None


@dataclass(frozen=True)
class Evaluation(Event):
    """Greedy evaluation games played during training."""

    kind: ClassVar[str] = "evaluation"
    timesteps: int
    games: int
    lines_mean: float
    lines_max: float


@dataclass(frozen=True)
class Info(Event):
    kind: ClassVar[str] = "info"
    text: str


@dataclass(frozen=True)
class Warning(Event):  # noqa: A001 - the protocol's own name for it
    kind: ClassVar[str] = "warning"
    text: str


@dataclass(frozen=True)
class Error(Event):
    kind: ClassVar[str] = "error"
    message: str
    traceback: str = ""


@dataclass(frozen=True)
class Command:
    """Base of every UI -> worker message."""

    kind: ClassVar[str] = "command"


@dataclass(frozen=True)
class Stop(Command):
    """Save ``latest``, then exit."""

    kind: ClassVar[str] = "stop"


@dataclass(frozen=True)
class Pause(Command):
    kind: ClassVar[str] = "pause"


@dataclass(frozen=True)
class Resume(Command):
    kind: ClassVar[str] = "resume"


@dataclass(frozen=True)
class SetSpeed(Command):
    """Seconds to wait after each step (0 = full speed)."""

    kind: ClassVar[str] = "set_speed"
    delay: float


@dataclass(frozen=True)
class SetWatch(Command):
    """Board frames on or off."""

    kind: ClassVar[str] = "set_watch"
    on: bool


@dataclass(frozen=True)
class SaveSlot(Command):
    """Copy the current model into ``slots/<name>``; an existing slot is kept
    (with a warning) unless ``overwrite`` says the user agreed to replace it."""

    kind: ClassVar[str] = "save_slot"
    name: str
    overwrite: bool = False


@dataclass(frozen=True)
class Attach(Command):
    """A viewer's first message on the trainer's socket (after authentication)."""

    kind: ClassVar[str] = "attach"
    read_only: bool = False
    protocol: int = PROTOCOL_VERSION


@dataclass(frozen=True)
class Ping(Command):
    """Answered by a ``Pong`` with the same token: a command round trip."""

    kind: ClassVar[str] = "ping"
    token: int


# -- the spectator game (issue #12) ---------------------------------------------------

# Board views the ``w`` key cycles through.
VIEW_SPECTATOR = "spectator"
VIEW_ENV = "env"
VIEW_OFF = "off"
VIEWS = (VIEW_SPECTATOR, VIEW_ENV, VIEW_OFF)
# Spectator pace in placements per second; 0 means instant (no animation).
INSTANT = 0.0
DEFAULT_PACE = 5.0


@dataclass(frozen=True)
class SpectatorPlacement(Event):
    """One placement of the spectator's greedy game, enough to animate and draw it.

    ``board`` is the locked stack *before* the placement (200 bytes, row-major,
    top row first), so a dropped or skipped event never leaves the UI's board
    wrong. ``cells`` are the landed piece's (row, col) pairs, flattened. Sent at
    the spectator's pace, never faster than 60/s: a bounded rate, not latest-wins.
    """

    kind: ClassVar[str] = "spectator_placement"
    droppable: ClassVar[bool] = True
    game: int
    piece: int
    rotation: int
    column: int
    row: int
    cells: tuple[int, ...]
    board: bytes
    lines_cleared: int = 0
    lines: int = 0  # this game's lines so far, this placement included
    pieces: int = 0  # this game's pieces so far, this placement included
    next_pieces: tuple[int, ...] = ()
    policy_timesteps: int = 0
    pace: float = DEFAULT_PACE
    best_lines: int = 0
    source: str = "spectator"  # or "replay"


@dataclass(frozen=True)
class SpectatorGame(Event):
    """The spectator's game ended (never dropped); the next starts with the newest weights."""

    kind: ClassVar[str] = "spectator_game"
    game: int
    lines: int
    pieces: int
    policy_timesteps: int
    best_lines: int
    capped: bool = False
    board: bytes = b""  # the final locked board


@dataclass(frozen=True)
class SetPace(Command):
    """The spectator's pace in placements per second (0 = instant); training is untouched."""

    kind: ClassVar[str] = "set_pace"
    pace: float


@dataclass(frozen=True)
class SetView(Command):
    """What the board shows: the spectator's game, training env 0 or nothing."""

    kind: ClassVar[str] = "set_view"
    view: str


# -- the system strip (issue #22) ------------------------------------------------------


@dataclass(frozen=True)
class Gpu:
    """One GPU as NVML sees it, and the trainer's part of it (None: NVML would not say)."""

    index: int
    name: str
    util_percent: float | None
    memory_used: int
    memory_total: int
    trainer_memory: int | None = None  # bytes held by the trainer's processes
    trainer_util: float | None = None  # % of the SMs the trainer's processes used


@dataclass(frozen=True)
class System(Event):
    """The trainer's own figures, measured in the trainer at most once a second.

    Attached viewers get the same event, so every app shows the trainer's figures,
    not its own. ``gpus`` is empty when there is no GPU; ``gpu_note`` says why.
    """

    kind: ClassVar[str] = "system"
    droppable: ClassVar[bool] = True
    pid: int
    cpu_percent: float | None  # of one core: 200 = two whole cores
    rss_bytes: int | None
    threads: int | None
    cores: int = 0
    gpus: tuple[Gpu, ...] = ()
    gpu_note: str = ""
