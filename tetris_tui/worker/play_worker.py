"""The play worker: a saved agent plays greedy games at a watchable speed.

Same process model and events as training (board frames, games, status), but
nothing learns and nothing is written to the run directory, so it needs no
lock and can run beside a training run.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Any

from tetris_tui.command_channel import CommandChannel
from tetris_tui.config import Config
from tetris_tui.protocol import (
    CRASHED,
    PAUSED,
    RUNNING,
    STARTING,
    STOPPED,
    VIEW_SPECTATOR,
    Board,
    Error,
    Info,
    Pause,
    Ping,
    Pong,
    Resume,
    SetPace,
    SetSpeed,
    SetView,
    SetWatch,
    Status,
    Stop,
)
from tetris_tui.worker.process_setup import (
    EXIT_SECONDS,
    announce,
    exit_within,
    prepare_worker_process,
)
from tetris_tui.worker.reporter import EventSink

# Default pause between two moves so a person can follow the game.
PLAY_DELAY = 0.15


def play_entry(
    config: Config,
    model_dir: Path,
    rules: dict[str, object],
    events: Any,
    commands: CommandChannel,
    stop_flag: Any,
) -> None:
    """Play games with the model in ``model_dir`` until stopped (on ``rules``, EnvConfig
    fields, when given; else on its own)."""
    ui_gone, _ = prepare_worker_process(config.run_dir, stop_flag)
    announce(events, "play")
    sink = EventSink(events, None, ui_gone)
    sink.send(Status(STARTING, 0))
    try:
        Player(config, model_dir, sink, commands, stop_flag, rules).run()
        sink.send(Status(STOPPED, 0))
    except BaseException as exc:  # noqa: BLE001 - every failure must reach the UI
        sink.send(Error(f"{type(exc).__name__}: {exc}", traceback.format_exc()))
        sink.send(Status(CRASHED, 0, f"{type(exc).__name__}: {exc}"))
    finally:
        exit_within(EXIT_SECONDS)
        sink.close()


class Player:
    """Greedy play loop that obeys pause, speed, watch and stop."""

    def __init__(
        self,
        config: Config,
        model_dir: Path,
        sink: EventSink,
        commands: CommandChannel,
        stop_flag: Any,
        rules: dict[str, object] | None = None,
    ) -> None:
        self.config = config
        self.model_dir = model_dir
        self.rules = rules or {}
        self.playing = f"playing {model_dir} (greedy, no training)"  # the first Info line
        self.sink = sink
        self.commands = commands
        self.stop_flag = stop_flag
        self.delay = config.step_delay or PLAY_DELAY
        self.watch = True
        self.pace = config.pace
        self.view = config.view
        self.paused = False
        self.stopped = False

    def run(self) -> None:
        from tetris_tui.envs import make_env
        from tetris_tui.worker.game_stats import RollingGames
        from tetris_tui.worker.model_factory import configure_torch
        from tetris_tui.worker.model_loading import load_for_play, with_rules

        configure_torch(self.config)
        model, env_config = load_for_play(self.model_dir, self.config.device)
        env_config = with_rules(env_config, self.rules)
        if self.rules:
            from tetris_tui.rules.base import describe

            label = describe(env_config.rules, env_config.height, env_config.randomizer)
            self.playing = f"playing {self.model_dir} on {label} rules, as asked (greedy)"
        if env_config.kind == "placement":
            self._spectate(model, env_config)
            return
        env = make_env(env_config.__class__(**{**env_config.__dict__, "max_pieces": 10_000}))
        seed = None if self.config.seed is None else self.config.seed + 1
        obs, _ = env.reset(seed=seed)
        games = RollingGames()
        self.sink.send(Info(self.playing))
        self.sink.send(Status(RUNNING, 0))
        steps, started = 0, time.time()
        next_frame = 0.0
        frame_interval = 1.0 / max(self.config.fps, 1.0)
        while not self._should_stop():
            if self.paused or self.commands.pending():
                self._obey()
            if self.paused:
                continue
            action, _ = model.predict(obs, deterministic=True)
            obs, _, terminated, truncated, info = env.step(int(action))
            steps += 1
            now = time.monotonic()
            if self.watch and (now >= next_frame or self.delay > 0):
                next_frame = now + frame_interval
                self.sink.send(Board(timesteps=steps, **env.board_frame()))
            if terminated or truncated:
                self.sink.send(games.add(info["game"], steps, 0, started))
                started = time.time()
                obs, _ = env.reset()
            if self.delay > 0:
                time.sleep(self.delay)
        env.close()

    def _spectate(self, model: Any, env_config: Any) -> None:
        """Placement models play as the spectator does: animated placements at the pace."""
        from tetris_tui.worker.game_stats import RollingGames
        from tetris_tui.worker.greedy_game import GreedyGame, policy_predictor

        game = GreedyGame(env_config, None if self.config.seed is None else self.config.seed + 1)
        predict = policy_predictor(model.policy)
        games = RollingGames()
        self.sink.send(Info(self.playing))
        self.sink.send(Status(RUNNING, 0))
        game.new_game(int(model.num_timesteps))
        started, steps, next_at = time.time(), 0, time.monotonic()
        while not self._should_stop():
            if self.paused or self.commands.pending():
                self._obey()
            if self.paused or self.view != VIEW_SPECTATOR:
                if not self.paused:
                    time.sleep(0.05)
                continue
            event = game.step(predict, self.pace)
            steps += 1
            if event is not None:
                self.sink.send(event)
            if game.finished is not None:
                record = game.finished
                result = {"lines": record.lines, "pieces": record.pieces, "capped": record.capped}
                result.update(reward=0.0, length=record.pieces)
                self.sink.send(games.add(result, steps, 0, started))
                self.sink.send(game.finished_event())
                started = time.time()
                game.new_game()
            next_at = _wait_for(next_at, self.pace, self._should_stop)
        game.close()

    def _should_stop(self) -> bool:
        return self.stopped or self.stop_flag.is_set()

    def _obey(self) -> None:
        """Apply queued commands; while paused, wait for one (stop still works)."""
        block = 0.1 if self.paused else 0.0
        while (command := self.commands.get(timeout=block)) is not None:
            block = 0.0
            if isinstance(command, Stop):
                self.stopped = True
            elif isinstance(command, Pause) and not self.paused:
                self.paused = True
                self.sink.send(Status(PAUSED, 0))
            elif isinstance(command, Resume) and self.paused:
                self.paused = False
                self.sink.send(Status(RUNNING, 0))
            elif isinstance(command, SetSpeed):
                self.delay = max(0.0, float(command.delay))
            elif isinstance(command, SetWatch):
                self.watch = bool(command.on)
            elif isinstance(command, SetPace):
                self.pace = max(0.0, float(command.pace))
            elif isinstance(command, SetView):
                self.view = command.view
            elif isinstance(command, Ping):
                self.sink.send(Pong(command.token))


def _wait_for(next_at: float, pace: float, stopped: Any) -> float:
    """Sleep until one placement after ``next_at`` at ``pace`` (no catch-up bursts)."""
    if pace <= 0:
        return time.monotonic()
    due = next_at + 1.0 / pace
    while not stopped() and (now := time.monotonic()) < due:
        time.sleep(min(0.05, due - now))
    now = time.monotonic()
    return due if now - due < 1.0 / pace else now
