"""Keeps ``<run>/replays/best.json``: the best game so far, written atomically.

The spectator process, the worker's evaluations and its training games (the
batched env records them) all offer games here. The
file on disk is re-read before each write, so a writer never replaces a better
game the other one recorded since it last looked.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tetris_tui.replay import BEST_REPLAY, REPLAYS_DIR, ReplayGame
from tetris_tui.runs.atomic import atomic_write_bytes

if TYPE_CHECKING:
    from tetris_tui.envs.game_recorder import RecordedGame

# Least seconds between two writes of a training game: early in training a new
# best game ends every few steps, and each write cost more than the game's report.
WRITE_INTERVAL = 5.0


class BestReplay:
    """Offer finished games; the best (most lines, then fewest pieces) is kept on disk."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / REPLAYS_DIR / BEST_REPLAY
        self._read: tuple[tuple[int, int, int], tuple[int, int] | None] | None = None
        self.best = self._on_disk()

    def _on_disk(self) -> tuple[int, int] | None:
        """(lines, -pieces) of the file; parsed again only when it changed.

        Each offer looks twice, and the file holds a whole game: early in
        training, re-parsing it every time was most of what recording cost.
        """
        try:
            stat = self.path.stat()
        except OSError:
            return None
        signature = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if self._read is not None and self._read[0] == signature:
            return self._read[1]
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            found: tuple[int, int] | None = (int(data["lines"]), -int(data["pieces"]))
        except (OSError, ValueError, KeyError, TypeError):
            found = None
        self._read = (signature, found)
        return found

    def current(self) -> tuple[int, int] | None:
        """The best on disk (another writer may have raised it), else the one known."""
        self.best = self._on_disk() or self.best
        return self.best

    def beats(self, lines: int, pieces: int) -> bool:
        """Whether a game of ``lines`` and ``pieces`` would be kept (cheap: no disk)."""
        return lines > 0 and (self.best is None or (lines, -pieces) > self.best)

    def offer(self, game: ReplayGame) -> bool:
        """Write ``game`` if it beats the best on disk; True when written."""
        if not self.beats(game.lines, game.pieces):
            return False
        self.best = self._on_disk() or self.best
        if not self.beats(game.lines, game.pieces):
            return False
        data = json.dumps(game.to_json(), separators=(",", ":")).encode()
        try:
            atomic_write_bytes(self.path, data)
        except OSError as exc:
            print(f"best replay not written: {exc}", flush=True)  # worker.log
            return False
        self.best = (game.lines, -game.pieces)
        return True


class TrainingReplays:
    """Training games that beat the best on record, from the batched env.

    The env records every game's placements but builds a replay only for a
    game that ends above its bar (``record_above``); each write sets the bar to
    the best on disk, which the spectator or an evaluation may have raised.
    The newest record waits in memory and is written at most every
    ``WRITE_INTERVAL`` seconds (``write_due``), and at the end (``write``).
    """

    def __init__(self, env: Any, run_dir: Path) -> None:
        self.env = env
        self.best = BestReplay(run_dir)
        self._pending: tuple[RecordedGame, int] | None = None
        self._written_at = -math.inf
        self._raise_bar()

    @classmethod
    def for_env(cls, training_env: Any, run_dir: Path) -> TrainingReplays | None:
        """None unless the training games are a ``PlacementVecEnv`` (it records them)."""
        env = getattr(training_env, "unwrapped", training_env)
        if not hasattr(env, "record_above"):
            return None
        return cls(env, run_dir)

    def offer(self, game: RecordedGame, timesteps: int) -> None:
        """Keep ``game`` to write if it is the best offered since the last write."""
        pending = self._pending
        if pending is None or (game.lines, -game.pieces) > (pending[0].lines, -pending[0].pieces):
            self._pending = (game, timesteps)

    def write_due(self, now: float, interval: float = WRITE_INTERVAL) -> bool:
        """Write the waiting game if the last write is ``interval`` seconds old."""
        if self._pending is None or now - self._written_at < interval:
            return False
        return self.write(now)

    def write(self, now: float | None = None) -> bool:
        """Write the waiting game now, if it beats the best on disk; True when written."""
        pending, self._pending = self._pending, None
        if pending is None:
            return False
        self._written_at = time.monotonic() if now is None else now
        game, timesteps = pending
        written = self.best.offer(dataclasses.replace(game.replay(), policy_timesteps=timesteps))
        self._raise_bar()
        return written

    def _raise_bar(self) -> None:
        best = self.best.current()
        self.env.record_above = best[0] if best else 0
