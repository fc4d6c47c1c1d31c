"""The training worker process: builds env and PPO, trains, reports, obeys.

``worker_entry`` is the spawn target. Module level imports stay light so the UI
process can name this function without importing torch; the heavy imports
happen inside the worker.
"""

from __future__ import annotations

import contextlib
import sys
import traceback
import warnings
from typing import Any

from tetris_tui.command_channel import CommandChannel
from tetris_tui.config import Config
from tetris_tui.protocol import (
    BEST,
    CRASHED,
    FINAL,
    FINISHED,
    LATEST,
    STARTING,
    STOPPED,
    Error,
    Info,
    Status,
    Warning,
)
from tetris_tui.worker.process_setup import (
    EXIT_SECONDS,
    announce,
    exit_process,
    exit_within,
    prepare_worker_process,
)
from tetris_tui.worker.reporter import EventSink


def worker_entry(config: Config, events: Any, commands: CommandChannel, stop_flag: Any) -> None:
    """Run one training session; always ends with a terminal Status event."""
    ui_gone, log_problem = prepare_worker_process(config.run_dir, stop_flag, outlive_parent=True)
    announce(events, "train")
    from tetris_tui.runs.runlock import WORKER_LOCK_FILE, RunLock, RunLockedError
    from tetris_tui.runs.runlog import RunLog

    # Held for the worker's whole life, so a run whose app died while this worker
    # still saves is refused to a new app (the app's own lock died with it).
    worker_lock = RunLock(config.run_dir, WORKER_LOCK_FILE)
    try:
        worker_lock.acquire()
    except (RunLockedError, OSError) as exc:
        with contextlib.suppress(Exception):
            events.put(Error(f"{type(exc).__name__}: {exc}"), timeout=5)
            events.put(Status(CRASHED, 0, str(exc)), timeout=5)
        return

    try:
        runlog: RunLog | None = RunLog(config.run_dir)
    except OSError:
        runlog = None
    sink = EventSink(events, runlog, ui_gone, batch_games=True)
    server = _serve_viewers(config, sink, commands)
    _forward_warnings(sink)
    sink.send(Status(STARTING, 0))
    if log_problem:
        sink.send(Warning(log_problem))
    try:
        state, timesteps, message = Trainer(config, sink, commands, stop_flag).run()
        sink.send(Status(state, timesteps, message))
    except BaseException as exc:  # noqa: BLE001 - every failure must reach the UI
        text = traceback.format_exc()
        with contextlib.suppress(Exception):
            print(text, file=sys.stderr, flush=True)  # worker.log keeps it too
        sink.send(Error(f"{type(exc).__name__}: {exc}", text))
        sink.send(Status(CRASHED, 0, f"{type(exc).__name__}: {exc}"))
    finally:
        exit_within(EXIT_SECONDS)  # whatever hangs from here on, the process still ends
        sink.close()
        if server is not None:
            server.close()  # after the last status, so viewers see how it ended
        worker_lock.release()
    exit_process()


class Trainer:
    """One session of training: load or create the model, learn, save."""

    def __init__(
        self, config: Config, sink: EventSink, commands: CommandChannel, stop_flag: Any
    ) -> None:
        self.config = config
        self.sink = sink
        self.commands = commands
        self.stop_flag = stop_flag

    def run(self) -> tuple[str, int, str]:
        from tetris_tui import faults
        from tetris_tui.runs.checkpoints import recover_checkpoints, remove_stale_temp_files
        from tetris_tui.runs.finished import finished_reason
        from tetris_tui.worker.callback import ReportingCallback
        from tetris_tui.worker.fault_callback import FaultCallback
        from tetris_tui.worker.model_factory import build_vec_env, configure_torch
        from tetris_tui.worker.saver import CheckpointWriter
        from tetris_tui.worker.tb_logging import logging_callbacks

        config = self.config
        # Temp files of a worker killed mid-save: never loaded, but they take space.
        remove_stale_temp_files(config.run_dir)
        for name in recover_checkpoints(config.run_dir):
            self.sink.send(Info(f"{name}: finished a save that a kill had cut short"))
        fault_step = faults.raise_at_step()
        configure_torch(config)
        venv = build_vec_env(config)
        spectator = None
        try:
            model, meta = self._load_or_create(venv)
            config = self.config = self._keep_saved_network(model)
            start = int(model.num_timesteps)
            limits = (config.total_timesteps, config.target_lines)
            finished = finished_reason({**meta, "timesteps": start}, *limits) if meta else None
            if finished is not None:
                # Nothing to train: saving again would only rewrite a finished run.
                return FINISHED, start, finished
            games = self._games(meta)
            writer = CheckpointWriter(config, self.sink, games)
            evaluator = self._evaluator(writer) if config.eval_every else None
            callback = ReportingCallback(
                config, self.sink, self.commands, self.stop_flag, games, writer, evaluator
            )
            spectator = self._spectator(model)
            callback.spectator = spectator
            callbacks: Any = [callback, *logging_callbacks(config, model, callback)]
            if fault_step is not None:
                callbacks.append(FaultCallback(fault_step))
            remaining = config.total_timesteps - start
            if remaining > 0 and not self.stop_flag.is_set():
                model.learn(remaining, callback=callbacks, reset_num_timesteps=False)
            if spectator is not None:
                spectator.request_stop()  # it ends while the checkpoints are written
            timesteps = int(model.num_timesteps)
            # A stop before learn() began (a Stop or hang-up during start-up) is a
            # stop too, not a finished run: no ``final``, and nothing new to save.
            stopped_early = self.stop_flag.is_set() and timesteps < config.total_timesteps
            if (callback.stop_requested or stopped_early) and not callback.target_reached:
                if timesteps > start or not (config.run_dir / LATEST).is_dir():
                    writer.save(model, LATEST)
                return STOPPED, timesteps, "stopped"
            writer.save(model, LATEST)
            writer.save(model, FINAL)
            if callback.target_reached:
                return FINISHED, timesteps, f"target of {config.target_lines:g} lines/game reached"
            return FINISHED, timesteps, f"reached {config.total_timesteps:,} timesteps"
        finally:
            if spectator is not None:
                spectator.close()
            _close_quietly(venv)

    def _spectator(self, model: Any) -> Any:
        """The spectator process (placement env only); None when it cannot start."""
        from tetris_tui.worker.spectator import Spectator, spectator_available

        if not spectator_available(self.config):
            return None
        try:
            return Spectator(self.config, model.policy)
        except Exception as exc:  # noqa: BLE001 - watching is never worth a crashed run
            self.sink.send(Warning(f"spectator not started: {_one_line(exc)}"))
            return None

    def _load_or_create(self, venv: Any) -> tuple[Any, dict[str, Any]]:
        """Resume from ``latest`` when it loads; move a damaged one aside and start fresh."""
        from tetris_tui.runs.checkpoints import (
            META_FILE,
            MODEL_FILE,
            check_model_matches_meta,
            quarantine,
            read_meta,
        )
        from tetris_tui.worker.model_factory import load_model, new_model

        latest = self.config.run_dir / LATEST
        model_path = latest / MODEL_FILE
        if not model_path.exists():
            return new_model(self.config, venv), {}
        # Which file is at fault, for the one line the user gets.
        culprit = latest / META_FILE
        try:
            meta = read_meta(latest)
            culprit = model_path
            trained_on = meta.get("config", {}).get("env", {}).get("kind")
            if trained_on and trained_on != self.config.env.kind:
                raise ValueError(f"trained on env {trained_on!r}, not {self.config.env.kind!r}")
            model = load_model(model_path, self.config, venv)
            # A model that loads but is not the one its meta describes (edited by hand).
            check_model_matches_meta(latest, meta)
        except Exception as exc:  # noqa: BLE001 - any unloadable checkpoint is handled the same
            reason = _one_line(exc).replace(f"{culprit}: ", "")
            moved = quarantine(latest, f"{culprit.name}: {reason}")
            self.sink.send(
                Warning(
                    f"checkpoint {culprit} could not be loaded ({reason}); "
                    f"moved aside to {moved}, starting fresh"
                )
            )
            return new_model(self.config, venv), {}
        self.sink.send(Info(f"resuming from {latest} at {model.num_timesteps:,} timesteps"))
        return model, meta

    def _keep_saved_network(self, model: Any) -> Config:
        """The config with the widths the model has: a resumed run keeps the shape of
        its saved weights, and says so when other widths were asked for."""
        from dataclasses import replace

        from tetris_tui.worker.model_factory import network_widths

        widths = network_widths(model)
        asked = {name: getattr(self.config.ppo, name) for name in widths}
        if widths == asked:
            return self.config
        said = ", ".join(f"{k.replace('_', '-')} {v}" for k, v in widths.items())
        self.sink.send(Warning(f"resuming a network of {said}: the saved weights keep their shape"))
        return self.config.replace(ppo=replace(self.config.ppo, **widths))

    def _games(self, meta: dict[str, Any]) -> Any:
        """The run's game count and window, carried on from its history.

        A resumed run judges ``best`` and the target on the same 100-game window it
        had when it was saved, and numbers its games after every game ever
        recorded, so no number is reused (even after a kill lost some saves).
        """
        from tetris_tui.runs.runlog import recent_games
        from tetris_tui.worker.game_stats import WINDOW, RollingGames

        saved = _count(meta.get("episodes"))
        recent = recent_games(self.config.run_dir, WINDOW, upto=saved if meta else 0)
        games = RollingGames(max(saved, recent.last_number), self._previous_best())
        if meta:
            games.restore(recent.games)
        return games

    def _previous_best(self) -> float | None:
        """The best mean to beat, from ``best/meta.json`` of the same env.

        A best (or final) trained on another env is moved aside, so this run's
        saves never overwrite it and its score is not compared with ours.
        """
        from tetris_tui.runs.checkpoints import CheckpointError, quarantine, read_meta

        for which in (FINAL, BEST):
            directory = self.config.run_dir / which
            try:
                kind = read_meta(directory).get("config", {}).get("env", {}).get("kind")
            except (CheckpointError, AttributeError):
                continue
            if kind and kind != self.config.env.kind:
                moved = quarantine(
                    directory, f"trained on env {kind!r}, not {self.config.env.kind!r}"
                )
                self.sink.send(
                    Info(f"{which} was trained on env {kind!r}; kept aside as {moved.name}")
                )
        try:
            value = read_meta(self.config.run_dir / BEST).get("best_lines_mean")
        except CheckpointError:
            return None
        return float(value) if isinstance(value, (int, float)) else None

    def _evaluator(self, writer: Any) -> Any:
        from tetris_tui.worker.periodic_eval import PeriodicEvaluator

        return PeriodicEvaluator(self.config, writer)


def _serve_viewers(config: Config, sink: EventSink, commands: CommandChannel) -> Any:
    """Let viewers attach (``tetris-tui attach``); training goes on without them if not."""
    from tetris_tui import faults
    from tetris_tui.protocol import PROTOCOL_VERSION
    from tetris_tui.worker.server import ViewerServer

    protocol = faults.protocol_version(PROTOCOL_VERSION)
    server = ViewerServer(config.run_dir, commands.inject, protocol, config=config.to_dict())
    try:
        server.start()
    except OSError as exc:
        sink.send(Warning(f"viewers cannot attach to this run: {exc}"))
        return None
    sink.serve(server)
    return server


def _forward_warnings(sink: EventSink) -> None:
    """Library warnings still go to the log, and each distinct one once to the UI."""
    seen: set[str] = set()
    original = warnings.showwarning

    def show(message: Any, category: Any, filename: str, lineno: int, *args: Any) -> None:
        original(message, category, filename, lineno, *args)
        text = f"{category.__name__}: {message}".splitlines()[0][:200]
        if text not in seen and len(seen) < 100:
            seen.add(text)
            sink.send(Warning(text))

    warnings.showwarning = show


def _close_quietly(venv: Any) -> None:
    try:
        venv.close()
    except Exception:  # noqa: BLE001 - closing a broken env must not hide the real error
        pass


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:160]


def _count(value: Any) -> int:
    """A count from meta.json, 0 when it is missing or not a number."""
    try:
        return max(0, int(value))
    except (TypeError, ValueError, OverflowError):
        return 0
