"""Keeps ``<run>/replays/best.json``: the best game so far, written atomically.

Both the spectator process and the worker's evaluations offer games here. The
file on disk is re-read before each write, so a writer never replaces a better
game the other one recorded since it last looked.
"""

from __future__ import annotations

import json
from pathlib import Path

from tetris_tui.replay import BEST_REPLAY, REPLAYS_DIR, ReplayGame
from tetris_tui.runs.atomic import atomic_write_bytes


class BestReplay:
    """Offer finished games; the best (most lines, then fewest pieces) is kept on disk."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / REPLAYS_DIR / BEST_REPLAY
        self.best = self._on_disk()

    def _on_disk(self) -> tuple[int, int] | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return int(data["lines"]), -int(data["pieces"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

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
