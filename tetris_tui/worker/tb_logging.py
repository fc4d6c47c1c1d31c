"""TensorBoard and progress.csv, through stable-baselines3's own logger.

SB3 users read ``rollout/*``, ``train/*`` and ``time/*`` in TensorBoard and
expect a ``progress.csv``; this module hands PPO a logger that writes them,
and adds the game's own figures under ``tetris/*``.

The one design decision: the logger is configured here, with a fixed folder
per run (``DIR/<run directory's name>``), and given to the model before
``learn()``. Left to itself SB3 opens a new ``PPO_1``, ``PPO_2``... at every
resume and splits the curve; with ``reset_num_timesteps=False`` and one folder,
a resumed run carries on the same curve from the step it stopped at.
TensorBoard reads every event file of a folder in turn, so a resume adds a
file and the steps simply continue. ``progress.csv`` is opened for appending
on resume (SB3's own writer would truncate it).

Worker side only: it imports stable-baselines3.
"""

from __future__ import annotations

import hashlib
import math
import time
from pathlib import Path
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import (
    CSVOutputFormat,
    KVWriter,
    Logger,
    TensorBoardOutputFormat,
)

from tetris_tui.config import Config
from tetris_tui.protocol import Evaluation, SpectatorGame
from tetris_tui.runs.atomic import atomic_write_bytes

PROGRESS_FILE = "progress.csv"
OWNER_FILE = ".tetris-tui-run"  # in the TensorBoard folder: which run writes there
FLUSH_EVERY = 1.0  # seconds between flushes of the event file


def tensorboard_folder(config: Config) -> Path | None:
    """Where this run's event files go: ``DIR/<run directory's name>``, or None when off.

    The folder names the run it belongs to (``OWNER_FILE``, which TensorBoard
    ignores): another run of the same name gets ``<name>-<hash of its path>``,
    so two runs never write one curve.
    """
    if not config.tensorboard:
        return None
    real = str(Path(config.run_dir).resolve())
    name = Path(real).name or "run"
    folder = Path(config.tensorboard) / name
    owner = _owner(folder)
    if owner is not None and owner != real:
        folder = folder.with_name(f"{name}-{hashlib.sha1(real.encode()).hexdigest()[:8]}")
    if _owner(folder) is None:
        atomic_write_bytes(folder / OWNER_FILE, (real + "\n").encode())
    return folder


def _owner(folder: Path) -> str | None:
    try:
        return (folder / OWNER_FILE).read_text().strip() or None
    except OSError:
        return None


class AppendingCSV(CSVOutputFormat):
    """SB3's CSV writer, continuing an existing file instead of truncating it.

    SB3's writer rewrites the header in place when a new key appears; it reads
    the file back from the start to do so, so the file is opened ``r+``, not in
    append mode, and the known keys come from the existing header.
    """

    def __init__(self, filename: str) -> None:
        path = Path(filename)
        if not path.exists() or path.stat().st_size == 0:
            super().__init__(filename)
            return
        self.file = open(path, "r+")  # noqa: SIM115 - closed by Logger.close()
        header = self.file.readline().rstrip("\n")
        self.keys = [key for key in header.split(",") if key]
        self.separator = ","
        self.quotechar = '"'
        self.file.seek(0, 2)


class ThrottledTensorBoard(TensorBoardOutputFormat):
    """SB3's TensorBoard writer, flushing at most once a ``every`` seconds.

    SB3 flushes the event file after every dump, and a flush waits for the
    writer's thread: 4-7 ms of wall time per dump on these 2 busy cores, ~1.4 ms
    of it CPU (a dump every rollout is ~7 a second at the default speed). The
    scalars are still queued at every dump; only the wait is bounded by time.
    Closing flushes what is left.
    """

    def __init__(self, folder: str, every: float = FLUSH_EVERY) -> None:
        super().__init__(folder)
        flush = self.writer.flush
        flushed_at = [0.0]

        def throttled() -> None:
            now = time.monotonic()
            if now - flushed_at[0] >= every:
                flushed_at[0] = now
                flush()

        self.writer.flush = throttled  # type: ignore[method-assign]


def run_logger(config: Config) -> Logger | None:
    """The SB3 logger for ``--tensorboard`` / ``--csv``; None when both are off."""
    formats: list[KVWriter] = []
    folder = tensorboard_folder(config)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        formats.append(ThrottledTensorBoard(str(folder)))
    if config.csv:
        formats.append(AppendingCSV(str(Path(config.run_dir) / PROGRESS_FILE)))
    if not formats:
        return None
    return Logger(folder=str(folder or config.run_dir), output_formats=formats)


def logging_callbacks(config: Config, model: Any, reporting: Any) -> list[BaseCallback]:
    """Give ``model`` the run's logger and return the callback that adds ``tetris/*``.

    ``reporting`` is the ReportingCallback: its games give the rolling means, and
    its sink carries the evaluations and the spectator's games, which are
    observed on their way out. Nothing is installed when both options are off.
    """
    logger = run_logger(config)
    if logger is None:
        return []
    model.set_logger(logger)
    figures = TetrisFigures(reporting.games)
    reporting.sink = _ObservedSink(reporting.sink, figures.observe)
    return [figures]


class TetrisFigures(BaseCallback):
    """Records the game's figures into SB3's logger before each of its dumps.

    SB3 dumps after every rollout (``log_interval=1``); ``_on_rollout_end`` runs
    just before, so each row holds the newest means. Evaluations and spectator
    games are recorded as they happen and averaged by the logger over the rows
    they fall in.
    """

    def __init__(self, games: Any) -> None:
        super().__init__(verbose=0)
        self.games = games

    def observe(self, event: Any) -> None:
        if isinstance(event, Evaluation):
            _record(self.logger, "tetris/eval_lines_mean", event.lines_mean, mean=True)
            _record(self.logger, "tetris/eval_lines_max", event.lines_max, mean=True)
        elif isinstance(event, SpectatorGame):
            _record(self.logger, "tetris/spectator_lines", event.lines, mean=True)
            _record(self.logger, "tetris/spectator_pieces", event.pieces, mean=True)

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        games = self.games
        _record(self.logger, "tetris/lines_mean_100", games.lines_mean)
        _record(self.logger, "tetris/pieces_mean_100", games.pieces_mean)
        _record(self.logger, "tetris/games", games.episodes)

    def _on_training_end(self) -> None:
        self.logger.close()  # flushes the event file and progress.csv


def _record(logger: Logger, key: str, value: float | None, mean: bool = False) -> None:
    if value is None or not math.isfinite(float(value)):
        return
    (logger.record_mean if mean else logger.record)(key, float(value))


class _ObservedSink:
    """The reporting callback's sink, letting ``observe`` see each event it sends."""

    def __init__(self, sink: Any, observe: Any) -> None:
        self._sink = sink
        self._observe = observe

    def send(self, event: Any) -> None:
        self._observe(event)
        self._sink.send(event)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sink, name)
