"""``PlacementVecEnv``: N placement games as arrays, one SB3 ``VecEnv``.

``DummyVecEnv`` over N ``PlacementEnv``s pays Python per game per step: the
engine's bookkeeping, ~10 numpy calls for 40 afterstates, info dicts, wrappers.
Here the N boards are (N, 10) column bitmasks and one ``batch_afterstates`` call
scores all N x 40 placements, so a step costs about what one game's step did.

It holds no rule of its own: the config's rule set (``tetris_tui.rules``) scores
the placements and deals the pieces. By default that is tetris-gymnasium
0.3.1's rules without running its engine: the same pieces and rotations,
randomizer and seeding (``bag_streams``), spawn test, line clearing and game
over, and the same observation, action numbering, rewards, ``lines_cleared``
and ``info["game"]`` as ``GameStatsWrapper(PlacementEnv)`` in a
``DummyVecEnv``: the differential test plays both side by side.
``env_method("board_frame")`` draws a game for the UI and ``action_masks()``
serves MaskablePPO.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvStepReturn

from tetris_tui.config import EnvConfig
from tetris_tui.envs.batch_afterstates import BatchAfterstates
from tetris_tui.envs.features import N_ACTIONS, N_FEATURES, WIDTH
from tetris_tui.envs.game_recorder import DEFAULT_CAPACITY, GameRecorder
from tetris_tui.envs.vec_boards import ColourBoards
from tetris_tui.rules import rules_for


def engine_tetrominoes() -> list[Any]:
    """tetris-gymnasium's 7 tetrominoes as its engine builds them (ids 2..8)."""
    from tetris_gymnasium.envs.tetris import Tetris

    return list(Tetris().tetrominoes)


class PlacementVecEnv(VecEnv):
    """``n`` placement games stepped together; see the module docstring."""

    metadata = {"render_modes": []}

    def __init__(self, n: int, config: EnvConfig | None = None, seed: int | None = None) -> None:
        if n < 1:
            raise ValueError(f"need at least one game, got {n}")
        self.config = config or EnvConfig()
        self.render_mode = None
        self.rules = rules_for(self.config)
        self.stack = self.rules.stack
        self._score = self.rules.afterstates
        self.n = n
        self.board = np.zeros((n, WIDTH), dtype=np.uint32)
        self.streams = self.rules.new_streams(n)
        self.colours = ColourBoards(n, self.stack, self.rules.height)
        # Each ended game's last board (before its slot starts a new game).
        self.final_cells: dict[int, np.ndarray] = {}
        self.recorder = GameRecorder(n, self.config.max_pieces or DEFAULT_CAPACITY, self.stack)
        # Games that end with more lines than this come back as a replay in
        # infos[i]["replay"] (None: never). The worker sets it to its best game.
        self.record_above: int | None = None
        self.lines = np.zeros(n, dtype=np.int64)
        self.pieces = np.zeros(n, dtype=np.int64)
        self.length = np.zeros(n, dtype=np.int64)
        self.returns = np.zeros(n, dtype=np.float64)
        self.after: BatchAfterstates | None = None
        self._actions = np.zeros(n, dtype=np.int64)
        obs_space = spaces.Box(0.0, np.inf, shape=(N_ACTIONS, N_FEATURES + 1), dtype=np.float32)
        super().__init__(n, obs_space, spaces.Discrete(N_ACTIONS))
        if seed is not None:
            self.seed(seed)

    # -- VecEnv API ------------------------------------------------------------------

    def reset(self) -> np.ndarray:
        everyone = np.arange(self.n)
        self._reset_games(everyone, self._seeds)
        self._reset_seeds()
        self._reset_options()
        self.after = self._afterstates(everyone)
        return self.after.obs.copy()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions).reshape(self.n).astype(np.int64)

    def step_wait(self) -> VecEnvStepReturn:
        if self.after is None:
            self.reset()
        after, cfg, games = self.after, self.config, np.arange(self.n)
        assert after is not None
        a = self._actions
        in_range = (a >= 0) & (a < N_ACTIONS)
        a = np.where(in_range, a, 0)
        legal = in_range & after.legal[games, a]
        blocked = legal & after.blocked[games, a]
        lock = legal & ~blocked
        over = ~legal | (legal & after.game_over[games, a])
        lines = np.where(lock, after.lines[games, a], 0).astype(np.int64)

        locked = np.flatnonzero(lock)
        if locked.size:
            la = a[locked]
            piece, landing_y = self.streams.piece(0, locked), after.landing_y[locked, la]
            self.board[locked] = after.columns[:, locked, la].T
            self.colours.lock(locked, piece, la, landing_y, after.full_bits[locked, la])
            self.recorder.lock(locked, piece, la, landing_y)
            self.streams.advance(locked)
        self.colours.forget(np.flatnonzero(blocked))

        rewards = cfg.reward_line * lines + cfg.reward_multi * (lines * lines - lines)
        rewards = rewards + np.where(over, cfg.reward_game_over, cfg.reward_alive)
        self.lines += lines
        self.pieces += legal
        self.returns += rewards
        self.length += 1
        capped = (self.pieces >= cfg.max_pieces) & ~over
        if not cfg.max_pieces:
            capped[:] = False
        dones = over | capped

        ended = np.flatnonzero(dones)
        # One batched pass scores the live games and, appended, the final states of
        # the games that just ended (their terminal observations): reset those first.
        final = (self.board[ended], self.streams.piece(0, ended), self.streams.piece(1, ended))
        infos: list[dict[str, Any]] = [{"lines_cleared": n} for n in lines.tolist()]
        self.final_cells = {int(i): self.colours.cells[i].copy() for i in ended}
        for i in ended:
            infos[i]["TimeLimit.truncated"] = bool(capped[i])
            infos[i]["game"] = {
                "lines": int(self.lines[i]),
                "reward": float(self.returns[i]),
                "pieces": int(self.pieces[i]),
                "length": int(self.length[i]),
                "capped": bool(capped[i]),
            }
            self._record(int(i), bool(capped[i]), infos[i])
        self._reset_games(ended)
        both = self._score(
            np.concatenate((self.board, final[0])),
            np.concatenate((self.streams.piece(0), final[1])),
            np.concatenate((self.streams.piece(1), final[2])),
        )
        self.after = both.head(self.n)
        obs = both.obs[: self.n]
        for k, i in enumerate(ended):
            infos[i]["terminal_observation"] = both.obs[self.n + k]
        return obs, rewards.astype(np.float32), dones, infos

    def close(self) -> None:
        pass

    def action_masks(self) -> np.ndarray:
        """Legal placements of every game's active piece: (n, 40) bool."""
        if self.after is None:
            self.reset()
        assert self.after is not None
        return self.after.legal.copy()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        value = getattr(self, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        setattr(self, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **kwargs: Any
    ) -> list[Any]:
        """Per-game methods: ``board_frame`` (the UI's) and ``action_masks`` (MaskablePPO's)."""
        method = getattr(self, f"game_{method_name}", None)
        if method is None:
            raise AttributeError(f"PlacementVecEnv has no per-game method {method_name!r}")
        return [method(int(i), *method_args, **kwargs) for i in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    # -- per game ------------------------------------------------------------------

    def game_action_masks(self, i: int) -> np.ndarray:
        return self.action_masks()[i]

    def game_board_frame(self, i: int) -> dict[str, Any]:
        """Game ``i`` as ``GameStatsWrapper.board_frame`` draws a ``PlacementEnv`` game."""
        queue = [self.streams.piece(k, np.array([i]))[0] for k in range(1, 1 + self.rules.preview)]
        active = int(self.streams.piece(0, np.array([i]))[0])
        frame = self.colours.frame(i, active, [int(q) for q in queue])
        frame["lines"] = int(self.lines[i])
        frame["pieces"] = int(self.pieces[i])
        return frame

    def game_board(self, i: int) -> np.ndarray:
        """Game ``i``'s locked cells, (height, 10) uint8 piece ids like the engine's board."""
        return self.colours.cells[i].copy()

    def game_pieces(self, i: int) -> tuple[int, int]:
        """Randomizer indices of game ``i``'s active and next piece."""
        rows = np.array([i])
        return int(self.streams.piece(0, rows)[0]), int(self.streams.piece(1, rows)[0])

    # -- internals -----------------------------------------------------------------

    def _record(self, i: int, capped: bool, info: dict[str, Any]) -> None:
        """A replay of game ``i`` in its info when it beats ``record_above``."""
        bar, lines = self.record_above, int(self.lines[i])
        if bar is None or lines <= bar or not self.recorder.complete(i):
            return
        final = self.colours.cells[i].tobytes()
        info["replay"] = self.recorder.record(i, lines, final, capped, asdict(self.config))
        self.record_above = lines

    def _reset_games(self, games: np.ndarray, seeds: list[int | None] | None = None) -> None:
        """New games in ``games``: each seeded as given, or its generator goes on."""
        if not games.size:
            return
        for k, i in enumerate(games.tolist()):
            self.streams.reset(i, None if seeds is None else seeds[k])
        self.recorder.clear(games)
        self.board[games] = 0
        self.colours.clear(games)
        self.lines[games] = self.pieces[games] = self.length[games] = 0
        self.returns[games] = 0.0

    def _afterstates(self, games: np.ndarray) -> BatchAfterstates:
        return self._score(
            self.board[games], self.streams.piece(0, games), self.streams.piece(1, games)
        )
