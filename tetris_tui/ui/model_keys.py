"""The app's model keys (``m`` models screen, ``k`` keep a slot) and its palette commands.

A mixin of ``TetrisApp``, like ``BoardKeys``: app.py keeps routing and state.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from textual.app import SystemCommand

from tetris_tui import protocol as p

PALETTE = (
    ("start", "Start", "Spawn the worker; training resumes from latest/"),
    ("stop", "Stop", "Save latest/ and end the worker"),
    ("pause", "Pause / resume", "Hold the worker without ending it"),
    ("watch", "Board view", "spectator, training env 0 or off"),
    ("replay", "Replay the best game", "replays/best.json on the board"),
    ("models", "Models", "latest, best, final and the slots: keep, rename, play"),
    ("keep_slot", "Keep a slot", "Copy the current model into slots/"),
    ("detach", "Detach", "Quit and leave training running"),
    ("show_error", "Show last error", "The worker's traceback"),
    ("help", "Help", "All keys of tetris-tui"),
)


def run_commands(app: Any) -> Iterator[SystemCommand]:
    """The palette's commands that make sense now (the same test as the keys)."""
    for action, title, help_text in PALETTE:
        if app.check_action(action, ()):
            yield SystemCommand(title, help_text, getattr(app, f"action_{action}"))


class ModelKeys:
    """``action_keep_slot`` and ``action_models``."""

    session: Any
    config: Any
    play_model: Path | None
    play_rules: Any

    def action_keep_slot(self, name: str = "", overwrite: bool = False) -> None:
        if self.check_action("keep_slot", ()):
            name = name or f"step-{self.timesteps}"
            self.session.send(p.SaveSlot(name, overwrite))
            self.notify(f"keeping the current model as slots/{name}", timeout=4)

    def action_models(self) -> None:
        from tetris_tui.ui.screens.models import ModelsScreen

        training = self.session.alive and self.play_model is None
        self.push_screen(ModelsScreen(self.config.run_dir, training), self._models_closed)

    def _models_closed(self, request: Any) -> None:
        if request is None:
            return
        if request.action == "save_current":
            self.action_keep_slot(request.name, request.overwrite)
        elif request.action == "play" and request.path is not None:
            if self.session.alive:
                self.notify(
                    "stop first (x), or run `tetris-tui play` in another terminal",
                    title="a worker is running",
                    severity="warning",
                )
                return
            self.play_model = Path(request.path)
            self.play_rules = None  # from the table: each model plays its own rules
            self._update_status()
            self.action_start()
