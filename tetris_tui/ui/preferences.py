"""The user's preferences: theme, board view, fps, pace, curve options and keys.

One JSON file in the user's config directory
(``$XDG_CONFIG_HOME/tetris-tui/preferences.json``, else ``~/.config/...``),
written atomically (runs/atomic.py) when the theme or the curve's view changes
and when the app ends. The ``keymap`` section remaps keys by binding id (Textual
keymaps), e.g. ``{"keymap": {"start": "S", "quit": "q,ctrl+q"}}``.

The board view, fps and pace fill in only where the command line left the
built-in default: an option given on the command line wins. A bad file or
entry is skipped with one line (a toast), never a traceback; keys this version
does not know are kept when the file is written again.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tetris_tui import protocol as p
from tetris_tui.config import Config
from tetris_tui.runs.atomic import atomic_write_json

APP_DIR = "tetris-tui"
FILE_NAME = "preferences.json"
AXES = ("steps", "time")
WINDOWS = (1, 10, 100, 1000)  # the curve's smoothing choices (curve.SMOOTHING)


def config_dir() -> Path:
    """``$XDG_CONFIG_HOME/tetris-tui``, else ``~/.config/tetris-tui`` (XDG base dirs)."""
    base = os.environ.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / APP_DIR


def preferences_path() -> Path:
    return config_dir() / FILE_NAME


@dataclass
class Preferences:
    """What the file holds; None means "not set" (the built-in default applies)."""

    theme: str | None = None
    view: str | None = None
    fps: float | None = None
    pace: float | None = None
    curve_axis: str | None = None
    curve_log_y: bool | None = None
    curve_window: int | None = None
    keymap: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # one line each, for a toast
    path: Path | None = None
    _raw: dict[str, Any] = field(default_factory=dict)  # the file as read, unknown keys too

    @classmethod
    def load(cls, path: Path | None = None) -> Preferences:
        """The file's preferences; a missing file is no preference, a bad one is said."""
        path = path or preferences_path()
        prefs = cls(path=path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return prefs
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            prefs.problems.append(f"preferences not read ({path}): {_one_line(exc)}")
            return prefs
        if not isinstance(raw, dict):
            prefs.problems.append(f"preferences not read ({path}): not a JSON object")
            return prefs
        prefs._raw = raw
        prefs._take(raw)
        return prefs

    def _take(self, raw: dict[str, Any]) -> None:
        self.theme = self._check(raw, "theme", lambda v: isinstance(v, str) and v)
        self.view = self._check(raw, "view", lambda v: v in p.VIEWS)
        self.fps = self._check(raw, "fps", _non_negative)
        self.pace = self._check(raw, "pace", _non_negative)
        curve = raw.get("curve", {})
        if not isinstance(curve, dict):
            self.problems.append("preferences: 'curve' is not an object; ignored")
            curve = {}
        self.curve_axis = self._check(curve, "axis", lambda v: v in AXES, "curve.")
        self.curve_log_y = self._check(curve, "log_y", lambda v: isinstance(v, bool), "curve.")
        self.curve_window = self._check(curve, "smoothing", _window, "curve.")
        keymap = raw.get("keymap", {})
        good = isinstance(keymap, dict) and all(
            isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in keymap.items()
        )
        if good:
            self.keymap = dict(keymap)
        else:
            self.problems.append("preferences: 'keymap' must map binding ids to keys; ignored")

    def _check(self, raw: dict[str, Any], key: str, ok: Any, prefix: str = "") -> Any:
        if key not in raw:
            return None
        value = raw[key]
        if not ok(value):
            self.problems.append(f"preferences: {prefix}{key} = {value!r} is not valid; ignored")
            return None
        return value

    def apply_to(self, config: Config) -> Config:
        """The config with the saved view, fps and pace where it has the built-in default."""
        default = Config()
        changes: dict[str, Any] = {}
        if self.view is not None and config.view == default.view and config.watch:
            changes["view"] = self.view
        if self.fps is not None and config.fps == default.fps:
            changes["fps"] = float(self.fps)
        if self.pace is not None and config.pace == default.pace:
            changes["pace"] = float(self.pace)
        return config.replace(**changes) if changes else config

    def apply_to_app(self, app: Any, curve: Any) -> list[str]:
        """Theme, keymap and the curve's view, on a running app; the problems to show."""
        from tetris_tui.ui.widgets.chart import View

        if self.theme and self.theme in app.available_themes:
            app.theme = self.theme
        elif self.theme:
            self.problems.append(f"preferences: no theme named {self.theme!r}; ignored")
        if self.keymap:
            app.set_keymap(self.keymap)
        view = curve.view
        curve.view = View(
            self.curve_axis or view.axis,
            view.log_y if self.curve_log_y is None else self.curve_log_y,
            self.curve_window or view.window,
        )
        problems, self.problems = self.problems, []
        return problems

    def remember(self, app: Any, curve: Any, fps: float | None) -> str | None:
        """Take the app's current choices and save them (see ``save``)."""
        self.theme = app.theme
        self.view = getattr(app, "view", self.view)
        self.pace = getattr(app, "pace", self.pace)
        self.fps = self.fps if fps is None else fps
        view = curve.view
        self.curve_axis, self.curve_log_y, self.curve_window = view.axis, view.log_y, view.window
        return self.save()

    def to_json(self) -> dict[str, Any]:
        data = dict(self._raw)  # keys this version does not know survive a save
        for key, value in (
            ("theme", self.theme),
            ("view", self.view),
            ("fps", self.fps),
            ("pace", self.pace),
        ):
            if value is not None:
                data[key] = value
        curve = dict(data.get("curve", {})) if isinstance(data.get("curve"), dict) else {}
        for key, value in (
            ("axis", self.curve_axis),
            ("log_y", self.curve_log_y),
            ("smoothing", self.curve_window),
        ):
            if value is not None:
                curve[key] = value
        if curve:
            data["curve"] = curve
        data.setdefault("keymap", self.keymap)
        return data

    def save(self) -> str | None:
        """Write the file atomically; None, or the one line saying why it was not written."""
        path = self.path or preferences_path()
        data = self.to_json()
        if data == self._raw:
            return None  # nothing changed: no write
        try:
            atomic_write_json(path, data)
        except OSError as exc:
            return f"preferences not saved ({path}): {_one_line(exc)}"
        self._raw = data
        return None


def _window(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value in WINDOWS


def _non_negative(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1e6


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:160]
