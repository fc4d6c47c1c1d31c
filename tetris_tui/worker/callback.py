"""The SB3 callback that reports to the UI and obeys its commands.

Its per-step cost is a few attribute reads, a look at the shared command count
and one clock read: commands apply at the next step, and everything else (the
stop flag, board frames, metrics, batches of games) happens on time-bounded
ticks, so reporting costs training almost nothing however fast it runs.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback

from tetris_tui.command_channel import CommandChannel
from tetris_tui.config import Config
from tetris_tui.policy.lean_ppo import greedy_policy
from tetris_tui.protocol import (
    BEST,
    LATEST,
    PAUSED,
    RUNNING,
    STOPPING,
    Command,
    Info,
    Metrics,
    Pause,
    Ping,
    Pong,
    Resume,
    SaveSlot,
    SetPace,
    SetSpeed,
    SetView,
    SetWatch,
    Status,
    Stop,
    Warning,
)
from tetris_tui.runs.checkpoints import CheckpointError, checkpoint_dir
from tetris_tui.worker.best_replay import TrainingReplays
from tetris_tui.worker.board_frames import BoardFrames
from tetris_tui.worker.game_stats import RollingGames
from tetris_tui.worker.reporter import EventSink
from tetris_tui.worker.running_games import RunningGames
from tetris_tui.worker.saver import CheckpointWriter
from tetris_tui.worker.system_probe import SystemProbe

# How often the stop flag (signals, a dead UI) is looked at and the spectator's
# events are forwarded (seconds): the app drains at 20 Hz, so a faster tick only
# cost training (at 50 Hz the tick was a third of reporting's cost).
CONTROL_INTERVAL = 0.05
# Longest a finished game waits before it is sent (games go in batches: each
# batch is a history write, a queue item and a pickle).
GAMES_FLUSH_INTERVAL = 0.25
# Minimum seconds between two saves of ``best``.
BEST_SAVE_INTERVAL = 10.0
# SB3 logger keys -> names in Metrics.train.
TRAIN_KEYS = {
    "train/entropy_loss": "entropy",
    "train/value_loss": "value_loss",
    "train/policy_gradient_loss": "policy_loss",
    "train/approx_kl": "approx_kl",
    "train/clip_fraction": "clip_fraction",
    "train/explained_variance": "explained_variance",
    "train/loss": "loss",
}


class ReportingCallback(BaseCallback):
    """Feeds the events queue and applies commands from the commands queue."""

    def __init__(
        self,
        config: Config,
        sink: EventSink,
        commands: CommandChannel,
        stop_flag: threading.Event | Any,
        games: RollingGames,
        writer: CheckpointWriter,
        evaluator: Any = None,
    ) -> None:
        super().__init__(verbose=0)
        self.config = config
        self.sink = sink
        self.commands = commands
        self.stop_flag = stop_flag
        self.games = games
        self.writer = writer
        self.evaluator = evaluator
        self.delay = config.step_delay
        self.frames = BoardFrames(config)
        self.spectator: Any = None  # the spectator process's handle (worker.py sets it)
        self.replays: TrainingReplays | None = None
        self.stop_requested = False
        self.paused = False
        self.target_reached = False
        self.updates = 0
        self._pending_train: dict[str, float] = {}
        self._metrics_interval = 1.0 / config.metrics_hz
        self.system = SystemProbe()  # the system strip's figures (a thread, from the start)
        self.running = RunningGames()

    # -- SB3 hooks ---------------------------------------------------------------

    def _on_training_start(self) -> None:
        now = time.monotonic()
        self._started = now
        self._cpu_started = time.process_time()
        self._next_control = now
        self._next_flush = now + GAMES_FLUSH_INTERVAL
        self.frames.next_at = now
        self._next_metrics = now + self._metrics_interval
        self._rate_mark = (now, self.num_timesteps)
        self._next_checkpoint = self.num_timesteps + self.config.checkpoint_every
        every = self.config.eval_every
        self._next_eval = self.num_timesteps + every if every else math.inf
        self._game_started = [time.time()] * self.training_env.num_envs
        self._best_saved_at = 0.0
        self.sink.send(Status(RUNNING, self.num_timesteps))
        self.system.start()
        self._publish_weights()
        self.replays = TrainingReplays.for_env(self.training_env, self.config.run_dir)

    def _publish_weights(self) -> None:
        """The spectator gets the newest greedy weights: a memcpy into shared memory."""
        if self.spectator is not None:
            self.spectator.publish(greedy_policy(self.model), self.num_timesteps)

    def _on_rollout_start(self) -> None:
        self._publish_weights()  # an update just finished (or training just began)
        # SB3 records the update's figures in train() and clears them at the next
        # dump, so they are read here, between the two.
        values = self.model.logger.name_to_value
        train = {}
        for key, name in TRAIN_KEYS.items():
            value = values.get(key)
            if value is not None and math.isfinite(value):
                train[name] = float(value)
        if "entropy" in train:
            train["entropy"] = -train["entropy"]
        if train:
            self.updates += 1
            self._pending_train = train

    def _on_step(self) -> bool:
        dones = self.locals["dones"]
        if dones.any():
            self._finish_games(dones)
        if self.commands.pending():
            self._apply_commands()
        now = time.monotonic()
        if now >= self._next_control:
            self._control(now)
        if self.num_timesteps >= self._next_checkpoint:
            self._next_checkpoint = self.num_timesteps + self.config.checkpoint_every
            self.writer.save(self.model, LATEST)
        if self.num_timesteps >= self._next_eval:
            self._next_eval = self.num_timesteps + self.config.eval_every
            self._evaluate()
        if self.delay > 0:
            time.sleep(self.delay)
        return not self.stop_requested

    def _on_training_end(self) -> None:
        self.system.close()
        if self.replays is not None:
            self.replays.write()
        self._send_metrics(time.monotonic())
        if self.games.beats_best():
            self._save_best()

    # -- games -------------------------------------------------------------------

    def _finish_games(self, dones: Any) -> None:
        """Every game that ended this step: one batch for the window and the sink."""
        infos = self.locals["infos"]
        now = time.time()
        started = self._game_started
        finished = []
        for index in dones.nonzero()[0].tolist():
            info = infos[index]
            game = info.get("game")
            if game is None:
                continue
            replay = info.get("replay")
            if replay is not None and self.replays is not None:
                self.replays.offer(replay, self.num_timesteps)
            finished.append((game, index, started[index]))
            started[index] = now
        if finished:
            self.sink.send_games(self.games.add_many(finished, self.num_timesteps, now))
        if self.games.beats_best() and time.monotonic() - self._best_saved_at > BEST_SAVE_INTERVAL:
            self._save_best()
        target = self.config.target_lines
        if not self.target_reached and self.games.reaches(target):
            self.target_reached = True
            self.stop_requested = True
            mean = self.games.lines_mean
            self.sink.send(
                Info(f"target reached: mean {mean:.2f} lines over the last 100 games >= {target:g}")
            )

    def _save_best(self) -> None:
        """Save ``best``; the best mean to beat rises only once the save succeeded."""
        mean = self.games.lines_mean
        self._best_saved_at = time.monotonic()
        if self.writer.save(self.model, BEST, best_mean=mean) is not None:
            self.games.best_mean = mean  # its Checkpoint event tells the UI

    def _evaluate(self) -> None:
        """Play the evaluation games; a stop (or any command) is obeyed between moves."""
        if self.evaluator is None:
            return
        result = self.evaluator(self.model, self.num_timesteps, self._stop_wanted)
        if result is not None:
            self.sink.send(result)

    def _stop_wanted(self) -> bool:
        """Apply waiting commands; whether a stop was asked for (cheap: no system call)."""
        if self.commands.pending():
            self._apply_commands()
        if self.stop_flag.is_set():
            self._request_stop()
        return self.stop_requested

    # -- control tick ------------------------------------------------------------

    def _control(self, now: float) -> None:
        self._next_control = now + CONTROL_INTERVAL
        if self.spectator is not None:
            self.spectator.forward(self.sink)
        self.system.forward(self.sink)
        if self.replays is not None:
            self.replays.write_due(now)
        if now >= self._next_flush:
            self._next_flush = now + GAMES_FLUSH_INTERVAL
            self.sink.flush()
        if self.stop_flag.is_set():
            self._request_stop()
        if self.paused and not self.stop_requested:
            self._wait_while_paused()
        frames_from = self.training_env
        self.frames.send_if_due(now, frames_from, self.num_timesteps, self.sink, self.spectator)
        if now >= self._next_metrics:
            self._send_metrics(now)

    def _apply_commands(self, block: float = 0.0) -> None:
        """Apply every queued command; wait up to ``block`` seconds for the first."""
        while (command := self.commands.get(timeout=block)) is not None:
            self._apply(command)
            block = 0.0

    def _apply(self, command: Command) -> None:
        if isinstance(command, Stop):
            self._request_stop()
        elif isinstance(command, Pause):
            self.paused = True
        elif isinstance(command, Resume):
            self.paused = False
        elif isinstance(command, SetSpeed):
            self.delay = max(0.0, float(command.delay))
        elif isinstance(command, SetWatch):
            self.frames.set_watch(command.on)
        elif isinstance(command, SetView):
            self.frames.set_view(command.view)
            if self.spectator is not None:
                self.spectator.set_view(command.view)
        elif isinstance(command, SetPace) and self.spectator is not None:
            self.spectator.set_pace(command.pace)
        elif isinstance(command, SaveSlot):
            self._save_slot(command.name, command.overwrite)
        elif isinstance(command, Ping):
            self.sink.send(Pong(command.token))

    def _request_stop(self) -> None:
        if not self.stop_requested:
            self.stop_requested = True
            self.sink.send(Status(STOPPING, self.num_timesteps))

    def _wait_while_paused(self) -> None:
        """Hold training until resume or stop, still obeying every other command."""
        self.sink.send(Status(PAUSED, self.num_timesteps))
        self._rate_mark = (time.monotonic(), self.num_timesteps)
        while self.paused and not self.stop_requested:
            self._apply_commands(block=0.1)
            if self.spectator is not None:
                self.spectator.forward(self.sink)
            self.system.forward(self.sink)
            if self.stop_flag.is_set():
                self._request_stop()
            now = time.monotonic()
            if now >= self._next_metrics:
                self._send_metrics(now)
        self._rate_mark = (time.monotonic(), self.num_timesteps)
        if not self.stop_requested:
            self.sink.send(Status(RUNNING, self.num_timesteps))

    def _save_slot(self, name: str, overwrite: bool) -> None:
        """Keep the model in ``slots/<name>``; never replaces a slot unless told to."""
        try:
            exists = checkpoint_dir(self.config.run_dir, name).exists()
        except CheckpointError as exc:
            self.sink.send(Warning(str(exc)))
            return
        if exists and not overwrite:
            self.sink.send(Warning(f"slot {name!r} exists already; kept it as it was"))
            return
        self.writer.save(self.model, name)

    # -- reports -------------------------------------------------------------------

    def _send_metrics(self, now: float) -> None:
        self._next_metrics = now + self._metrics_interval
        mark_time, mark_steps = self._rate_mark
        elapsed = now - mark_time
        rate = (self.num_timesteps - mark_steps) / elapsed if elapsed > 0 else 0.0
        if elapsed >= 1.0:
            self._rate_mark = (now, self.num_timesteps)
        games = self.games
        running, playing = self.running.read(self.training_env)
        self.sink.send(
            Metrics(
                timesteps=self.num_timesteps,
                steps_per_sec=round(rate, 1),
                episodes=games.episodes,
                elapsed_s=round(now - self._started, 2),
                lines_last=float(games.lines[-1]) if games.lines else None,
                lines_mean=games.lines_mean,
                lines_max=float(max(games.lines)) if games.lines else None,
                reward_mean=games.reward_mean,
                pieces_mean=games.pieces_mean,
                train=self._pending_train,
                updates=self.updates,
                cpu_s=round(time.process_time() - self._cpu_started, 2),
                running_lines=running,
                running_games=playing,
            )
        )
        self._pending_train = {}
