"""Best-game replays: the file format, and replaying one without the env.

``<run>/replays/best.json`` holds a game twice over: the seed and the actions
(the engine replays them exactly: ``tests/test_replay.py``), and the pieces
and the cells each one landed on, so the UI can replay it with no torch and no
tetris-gymnasium: drop the cells in, clear full rows, repeat (``rules/board.py``,
the same for every rule set). The engine's final board and line count are
stored too, and a replay must end on them. The board's height is the run's
(``env["height"]``: 20, or 10 under the research rules).

This module imports nothing heavy: the UI process and the CLI use it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tetris_tui.protocol import BOARD_COLS, BOARD_ROWS, DEFAULT_PACE, SpectatorPlacement
from tetris_tui.rules.base import HEIGHTS
from tetris_tui.rules.board import clear_rows, empty_board, lock, pairs

REPLAY_VERSION = 1
REPLAYS_DIR = "replays"
BEST_REPLAY = "best.json"
EMPTY_BOARD = bytes(BOARD_ROWS * BOARD_COLS)


class ReplayError(ValueError):
    """A replay file that is missing or damaged; the message is one line."""


@dataclass(frozen=True)
class Placement:
    """One locked piece: its kind, rotation, column, landing row and the cells it covers."""

    piece: int
    rotation: int
    column: int
    row: int
    cells: tuple[int, ...]  # (row, col) pairs, flattened

    def to_json(self) -> list[Any]:
        return [self.piece, self.rotation, self.column, self.row, list(self.cells)]


@dataclass(frozen=True)
class ReplayGame:
    """A recorded game: enough to replay it on the board, or in the engine."""

    lines: int
    pieces: int
    placements: tuple[Placement, ...]
    final_board: bytes
    seed: int | None = None
    actions: tuple[int, ...] = ()
    source: str = "spectator"
    policy_timesteps: int = 0
    env: dict[str, Any] = field(default_factory=dict)
    capped: bool = False
    recorded_at: float = 0.0

    @property
    def height(self) -> int:
        """Rows of the game's board (the run's ``EnvConfig.height``)."""
        return int(self.env.get("height", BOARD_ROWS))

    def to_json(self) -> dict[str, Any]:
        return {
            "version": REPLAY_VERSION,
            "source": self.source,
            "lines": self.lines,
            "pieces": self.pieces,
            "capped": self.capped,
            "policy_timesteps": self.policy_timesteps,
            "recorded_at": self.recorded_at,
            "seed": self.seed,
            "env": self.env,
            "actions": list(self.actions),
            "placements": [p.to_json() for p in self.placements],
            "final_board": self.final_board.hex(),
        }


def replay_path(which: str | Path, run_dir: Path) -> Path:
    """``best`` (or nothing) is the run's best game; anything else is a path."""
    if str(which) in ("", "best"):
        return run_dir / REPLAYS_DIR / BEST_REPLAY
    return Path(which)


def load_replay(path: Path) -> ReplayGame:
    """Read and check a replay file; ReplayError (one line) when missing or damaged."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReplayError(f"{path}: no such replay") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReplayError(f"{path}: cannot be read ({_first_line(exc)})") from None
    try:
        game = _from_json(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise ReplayError(f"{path}: damaged ({_first_line(exc)})") from None
    board, lines = final_state(game.placements, game.height)
    if board != game.final_board or lines != game.lines:
        raise ReplayError(f"{path}: damaged (its placements do not end on its final board)")
    return game


def _from_json(data: Any) -> ReplayGame:
    if not isinstance(data, dict) or data.get("version") != REPLAY_VERSION:
        raise ValueError("not a tetris-tui replay of version 1")
    env = dict(data.get("env") or {})
    height = int(env.get("height", BOARD_ROWS))
    if height not in HEIGHTS:
        raise ValueError(f"a board {height} rows high")
    placements = []
    for item in data["placements"]:
        piece, rotation, column, row, cells = item
        cells = tuple(int(v) for v in cells)
        if len(cells) % 2 or not all(
            0 <= r < height and 0 <= c < BOARD_COLS for r, c in pairs(cells)
        ):
            raise ValueError("a placement lies off the board")
        placements.append(Placement(int(piece), int(rotation), int(column), int(row), cells))
    board = bytes.fromhex(data["final_board"])
    if len(board) != height * BOARD_COLS:
        raise ValueError(f"final board is not {height}x10")
    return ReplayGame(
        lines=int(data["lines"]),
        pieces=int(data["pieces"]),
        placements=tuple(placements),
        final_board=board,
        seed=None if data.get("seed") is None else int(data["seed"]),
        actions=tuple(int(a) for a in data.get("actions", ())),
        source=str(data.get("source", "")),
        policy_timesteps=int(data.get("policy_timesteps", 0)),
        env=env,
        capped=bool(data.get("capped", False)),
        recorded_at=float(data.get("recorded_at", 0.0)),
    )


# -- the board, without the env (lock and clear_rows: rules/board.py) ---------------------


def final_state(placements: tuple[Placement, ...], height: int = BOARD_ROWS) -> tuple[bytes, int]:
    """The board and line count a sequence of placements ends on."""
    board, lines = empty_board(height), 0
    for p in placements:
        locked, full = lock(board, p.cells, p.piece)
        board = clear_rows(locked, full)
        lines += len(full)
    return board, lines


def replay_events(
    game: ReplayGame, pace: float = DEFAULT_PACE, game_number: int = 0
) -> Iterator[SpectatorPlacement]:
    """The game as the spectator's placement events, for the board to animate."""
    board, lines = empty_board(game.height), 0
    upcoming = [p.piece for p in game.placements]
    for index, p in enumerate(game.placements):
        locked, full = lock(board, p.cells, p.piece)
        lines += len(full)
        yield SpectatorPlacement(
            game=game_number,
            piece=p.piece,
            rotation=p.rotation,
            column=p.column,
            row=p.row,
            cells=p.cells,
            board=board,
            lines_cleared=len(full),
            lines=lines,
            pieces=index + 1,
            next_pieces=tuple(upcoming[index + 1 : index + 5]),
            policy_timesteps=game.policy_timesteps,
            pace=pace,
            best_lines=game.lines,
            source="replay",
        )
        board = clear_rows(locked, full)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:120]
