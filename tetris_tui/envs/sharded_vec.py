"""Placement games split over K processes, each stepping its share as one batched env.

One ``PlacementVecEnv`` runs on one core. On a machine with more cores, a large
number of games can step in parallel: shard ``k`` owns a contiguous block of
games in a child process, writes its observations straight into one shared
array, and sends back only rewards, dones and infos. The learner sees one
``VecEnv`` of all the games, in order, and the same games as one
``PlacementVecEnv`` of the same size and seed would play (tested in lockstep).

Shards die with the process that started them (``PR_SET_PDEATHSIG``), so a
killed trainer leaves none behind.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import traceback
from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvStepReturn

from tetris_tui.config import EnvConfig
from tetris_tui.envs.features import N_ACTIONS, N_FEATURES

OBS_SHAPE = (N_ACTIONS, N_FEATURES + 1)
# What ps and top call a shard.
SHARD_PROCESS_NAME = "tetris-envshard"
# How long a shard may take to start (it imports numpy, gymnasium and SB3).
START_TIMEOUT_S = 120.0


class ShardError(RuntimeError):
    """A shard failed; the message carries its traceback."""


def split_games(n: int, shards: int) -> list[tuple[int, int]]:
    """(first game, count) of each shard: contiguous blocks, sizes differing by at most one."""
    if not 1 <= shards <= n:
        raise ValueError(f"cannot split {n} games over {shards} processes")
    base, extra = divmod(n, shards)
    blocks, first = [], 0
    for k in range(shards):
        count = base + (k < extra)
        blocks.append((first, count))
        first += count
    return blocks


class ShardedPlacementVecEnv(VecEnv):
    """``n`` placement games in ``shards`` processes, seen as one ``VecEnv``."""

    metadata = {"render_modes": []}

    def __init__(self, n: int, config: EnvConfig | None = None, shards: int = 2) -> None:
        self.config = config or EnvConfig()
        self.render_mode = None
        self.blocks = split_games(n, shards)
        context = multiprocessing.get_context("spawn")
        self._shared = context.RawArray("f", n * OBS_SHAPE[0] * OBS_SHAPE[1])
        self._obs = np.frombuffer(self._shared, dtype=np.float32).reshape(n, *OBS_SHAPE)
        self._record_above: int | None = None
        self._pipes: list[Any] = []
        self._processes: list[Any] = []
        self._closed = False
        for first, count in self.blocks:
            ours, theirs = context.Pipe()
            process = context.Process(
                target=_shard_main,
                args=(theirs, self._shared, n, first, count, self.config),
                name="tetris-tui-env-shard",
                daemon=True,
            )
            process.start()
            theirs.close()
            self._pipes.append(ours)
            self._processes.append(process)
        for pipe in self._pipes:
            if not pipe.poll(START_TIMEOUT_S):
                self.close()
                raise ShardError("an env shard did not start")
            self._receive(pipe)
        obs_space = spaces.Box(0.0, np.inf, shape=OBS_SHAPE, dtype=np.float32)
        super().__init__(n, obs_space, spaces.Discrete(N_ACTIONS))

    # -- VecEnv API ------------------------------------------------------------------

    def reset(self) -> np.ndarray:
        seeds = getattr(self, "_seeds", [])
        for pipe, (first, count) in zip(self._pipes, self.blocks, strict=True):
            pipe.send(("reset", seeds[first : first + count] if seeds else []))
        for pipe in self._pipes:
            self._receive(pipe)
        self._reset_seeds()
        self._reset_options()
        return self._obs.copy()

    def step_async(self, actions: np.ndarray) -> None:
        actions = np.asarray(actions).reshape(self.num_envs)
        for pipe, (first, count) in zip(self._pipes, self.blocks, strict=True):
            pipe.send(("step", actions[first : first + count]))

    def step_wait(self) -> VecEnvStepReturn:
        rewards, dones, infos = [], [], []
        for pipe in self._pipes:
            shard_rewards, shard_dones, lines, ended = self._receive(pipe)
            rewards.append(shard_rewards)
            dones.append(shard_dones)
            shard_infos = [{"lines_cleared": int(n)} for n in lines]
            for i, info in ended.items():
                shard_infos[i] = info
            infos.extend(shard_infos)
        # A copy: the shards overwrite the shared array at the next step, while
        # SB3 still holds this one as the last observation.
        return self._obs.copy(), np.concatenate(rewards), np.concatenate(dones), infos

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for pipe in self._pipes:
            with contextlib.suppress(OSError, ValueError, BrokenPipeError):
                pipe.send(("close", None))
        for process in self._processes:
            process.join(5.0)
            if process.is_alive():
                process.kill()
                process.join(1.0)
        for pipe in self._pipes:
            pipe.close()

    def action_masks(self) -> np.ndarray:
        """Legal placements of every game's active piece: (n, 40) bool."""
        return np.concatenate(self._call_all("action_masks"))

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return self._per_game("get_attr", (attr_name,), {}, indices)

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        self._per_game("set_attr", (attr_name, value), {}, indices)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **kwargs: Any
    ) -> list[Any]:
        """Per-game methods, as ``PlacementVecEnv`` has them (``board_frame``, ...)."""
        return self._per_game("env_method", (method_name, *method_args), kwargs, indices)

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    @property
    def record_above(self) -> int | None:
        """The worker's bar for replays (see ``PlacementVecEnv.record_above``), on every shard."""
        return self._record_above

    @record_above.setter
    def record_above(self, value: int | None) -> None:
        self._record_above = value
        self._call_all("set_attr", "record_above", value)

    # -- internals -----------------------------------------------------------------

    def _receive(self, pipe: Any) -> Any:
        try:
            kind, payload = pipe.recv()
        except (EOFError, OSError) as exc:
            raise ShardError(f"an env shard died ({exc.__class__.__name__})") from None
        if kind == "error":
            raise ShardError(f"an env shard failed:\n{payload}")
        return payload

    def _call_all(self, name: str, *args: Any) -> list[Any]:
        for pipe in self._pipes:
            pipe.send(("call", (name, args, {})))
        return [self._receive(pipe) for pipe in self._pipes]

    def _per_game(
        self, name: str, args: tuple, kwargs: dict[str, Any], indices: VecEnvIndices
    ) -> list[Any]:
        """Call ``name`` on the shards that own ``indices``; results in the order asked."""
        wanted = list(self._get_indices(indices))
        results: dict[int, Any] = {}
        for pipe, (first, count) in zip(self._pipes, self.blocks, strict=True):
            mine = [i for i in wanted if first <= i < first + count]
            if not mine:
                continue
            local = [i - first for i in mine]
            pipe.send(("call", (name, args, {**kwargs, "indices": local})))
            results.update(zip(mine, self._receive(pipe), strict=True))
        return [results[i] for i in wanted]


def _shard_main(pipe: Any, shared: Any, n: int, first: int, count: int, config: EnvConfig) -> None:
    """A shard's loop: step its games on command, write their observations in place."""
    from tetris_tui.envs.placement_vec import PlacementVecEnv
    from tetris_tui.proctree import die_with_parent, set_process_name

    die_with_parent()
    set_process_name(SHARD_PROCESS_NAME)
    # The trainer decides when to stop: a group SIGTERM (systemd, docker stop) must
    # not kill a shard mid-step, or the trainer crashes instead of saving. No
    # handler, so no lock in one; it still dies with the trainer (PDEATHSIG, kill).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    view = np.frombuffer(shared, dtype=np.float32).reshape(n, *OBS_SHAPE)[first : first + count]
    try:
        env = PlacementVecEnv(count, config)
    except Exception:  # noqa: BLE001 - reported to the trainer, which raises it
        pipe.send(("error", traceback.format_exc()))
        return
    pipe.send(("ok", None))
    while True:
        try:
            command, payload = pipe.recv()
        except (EOFError, OSError):
            return
        if command == "close":
            return
        try:
            reply = _run(env, view, command, payload)
        except Exception:  # noqa: BLE001 - reported to the trainer, which raises it
            pipe.send(("error", traceback.format_exc()))
            continue
        pipe.send(("ok", reply))


def _run(env: Any, view: np.ndarray, command: str, payload: Any) -> Any:
    if command == "step":
        env.step_async(payload)
        obs, rewards, dones, infos = env.step_wait()
        view[:] = obs
        # Most infos only say the lines cleared: send those as one array, and
        # whole infos only for the games that ended.
        lines = np.fromiter((info["lines_cleared"] for info in infos), np.int64, len(infos))
        return rewards, dones, lines, {int(i): infos[i] for i in np.flatnonzero(dones)}
    if command == "reset":
        if payload:
            env._seeds = list(payload)  # the parent's seeds for this shard's games
        view[:] = env.reset()
        return None
    name, args, kwargs = payload
    return getattr(env, name)(*args, **kwargs)
