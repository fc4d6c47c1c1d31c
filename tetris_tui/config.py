"""Every knob of a training run, in one frozen, validated dataclass.

The CLI maps onto it, the worker is built from it, and ``meta.json`` stores it,
so a checkpoint always says exactly how it was trained. Nothing here imports
torch or the env, so the UI process can use it freely.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_KINDS = ("placement", "raw")
DEVICES = ("auto", "cpu", "cuda")
VEC_KINDS = ("auto", "dummy", "subproc")
# Default games per run (Config.num_envs): chosen by bench/learning.py sweeps on 2 cores.
PLACEMENT_ENVS = 256
RAW_ENVS = 4


class ConfigError(ValueError):
    """A knob has a value that cannot work; the message is one line for the user."""


@dataclass(frozen=True)
class PPOConfig:
    """PPO hyper-parameters (stable-baselines3 names).

    The defaults come from sweeps (``bench/learning.py``, ``bench/throughput.py``)
    on the batched placement env on 2 cores: 256 games x 16 steps a rollout, 4
    minibatches of 1,024 over 2 epochs, lr 1e-2. Smaller, more numerous updates
    reach 1,000 lines/game a few seconds sooner; these train twice as many steps
    per second, each gradient from 4x the samples, and after 20 to 60 minutes
    their greedy games last longer (docs/benchmarks.md). The learning rate is
    high for the per-key env: lower it there.
    """

    learning_rate: float = 1e-2
    n_steps: int = 16
    batch_size: int = 1024
    n_epochs: int = 2
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_range: float = 0.2
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    # Greedy play (evaluation, best, the spectator, saved models) uses a moving
    # average of the weights over about this many timesteps; 0 = the live weights.
    greedy_average_steps: int = 8_000_000
    # Network widths (placement env). The critic: two hidden layers this wide. The
    # scorer that rates each placement: 0 = linear in the board's features (as
    # BCTS and CBMPI score), N = one hidden layer of N. A resumed run keeps the
    # widths it was saved with: they are the shape of its weights.
    value_width: int = 64
    scorer_width: int = 0

    def validate(self) -> None:
        _positive("learning_rate", self.learning_rate)
        _positive("n_steps", self.n_steps)
        _positive("batch_size", self.batch_size)
        _positive("n_epochs", self.n_epochs)
        for name in ("gamma", "gae_lambda"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ConfigError(f"{name} must be in (0, 1], got {value}")
        _positive("clip_range", self.clip_range)
        if self.ent_coef < 0 or self.vf_coef < 0:
            raise ConfigError("ent_coef and vf_coef must not be negative")
        _positive("max_grad_norm", self.max_grad_norm)
        _positive("value_width", self.value_width)
        if self.scorer_width < 0:
            raise ConfigError(f"scorer_width must be >= 0, got {self.scorer_width}")
        if self.greedy_average_steps < 0:
            raise ConfigError(f"greedy_average_steps must be >= 0, got {self.greedy_average_steps}")


@dataclass(frozen=True)
class EnvConfig:
    """Which game the agent plays and how it is rewarded.

    ``placement``: one action places a piece (column x rotation), scored from the
    features of the board it leaves. ``raw``: tetris-gymnasium's per-key actions.
    """

    kind: str = "placement"
    # Reward per placed piece that does not end the game (survival shaping).
    reward_alive: float = 0.1
    # Reward per cleared line, and the bonus factor for multi-line clears:
    # reward = reward_line * lines + reward_multi * (lines**2 - lines).
    reward_line: float = 1.0
    reward_multi: float = 0.0
    # Reward added on the step that ends the game.
    reward_game_over: float = -1.0
    # Cap on pieces per training game (0 = none). A good agent's games would
    # otherwise last hours, and the game log and lines/game would stand still;
    # PPO bootstraps the value at the cap (a truncation, not a loss).
    max_pieces: int = 10_000
    # The rule set (tetris_tui/rules): "gymnasium" (tetris-gymnasium's) or "research"
    # (MDPTetris' simplified rules of the published results), its board's rows, and
    # how pieces are dealt ("bag" or "uniform"; the research rules are uniform).
    rules: str = "gymnasium"
    height: int = 20
    randomizer: str = "bag"

    def validate(self) -> None:
        if self.kind not in ENV_KINDS:
            raise ConfigError(f"unknown env {self.kind!r} (choose from {', '.join(ENV_KINDS)})")
        from tetris_tui.rules.base import check

        problem = check(self.rules, self.height, self.randomizer, self.kind)
        if problem:
            raise ConfigError(problem)
        if self.max_pieces < 0:
            raise ConfigError(f"max_pieces must be >= 0, got {self.max_pieces}")


@dataclass(frozen=True)
class Config:
    """A whole run: what to train, where to keep it, and how often to report."""

    total_timesteps: int = 5_000_000
    # Games played in parallel (None = the default for the env kind, see num_envs).
    n_envs: int | None = None
    vec_env: str = "auto"
    # Processes that step the batched placement games (each owns a share of them).
    env_procs: int = 1
    seed: int | None = None
    device: str = "auto"
    # Threads torch may use in the worker (0 = torch's default). One is fastest for
    # the small networks here and leaves a core to the envs and the UI.
    torch_threads: int = 1
    run_dir: Path = Path("checkpoints")
    # Steps between saves of ``latest``: ~7 s at the default's ~30k steps/s on
    # 2 cores (a save takes ~25 ms and is noted in a toast).
    checkpoint_every: int = 200_000
    # Board frames per second sent to the UI (0 = none) and metrics ticks per second.
    fps: float = 10.0
    metrics_hz: float = 4.0
    # Seconds to sleep after each step, for watching (0 = full speed).
    step_delay: float = 0.0
    watch: bool = True
    # What the board shows (spectator, env, off) and the spectator's placements/s (0 = instant).
    view: str = "spectator"
    pace: float = 5.0
    # Stop with a final checkpoint once mean lines/game over the last 100 games reaches this.
    target_lines: float | None = None
    # Greedy evaluation every N timesteps (None = off), over eval_games games.
    eval_every: int | None = None
    eval_games: int = 3
    # SB3's logger: TensorBoard event files under this folder (None = off), and
    # progress.csv in the run directory (worker/tb_logging.py).
    tensorboard: str | None = None
    csv: bool = False
    env: EnvConfig = field(default_factory=EnvConfig)
    ppo: PPOConfig = field(default_factory=PPOConfig)

    def __post_init__(self) -> None:
        object.__setattr__(self, "run_dir", Path(self.run_dir))
        self.validate()

    def validate(self) -> None:
        _positive("total_timesteps", self.total_timesteps)
        if self.n_envs is not None:
            _positive("n_envs", self.n_envs)
        if self.vec_env not in VEC_KINDS:
            raise ConfigError(
                f"unknown vec env {self.vec_env!r} (choose from auto, dummy, subproc)"
            )
        _positive("env_procs", self.env_procs)
        if self.env_procs > 1 and (self.env.kind != "placement" or self.vec_env != "auto"):
            raise ConfigError(
                "--env-procs splits the batched placement games: "
                "it needs --env placement and --vec-env auto"
            )
        if self.env_procs > self.num_envs:
            raise ConfigError(
                f"--env-procs {self.env_procs} needs at least as many games "
                f"(--n-envs is {self.num_envs})"
            )
        if self.device not in DEVICES and not self.device.startswith("cuda:"):
            raise ConfigError(f"unknown device {self.device!r} (choose from auto, cpu, cuda)")
        if self.torch_threads < 0:
            raise ConfigError(f"torch threads must be >= 0, got {self.torch_threads}")
        if self.seed is not None and self.seed < 0:
            raise ConfigError(f"seed must be >= 0, got {self.seed}")
        _positive("checkpoint_every", self.checkpoint_every)
        if self.fps < 0 or self.fps > 120:
            raise ConfigError(f"fps must be between 0 and 120, got {self.fps}")
        if not 0 < self.metrics_hz <= 50:
            raise ConfigError(f"metrics rate must be in (0, 50], got {self.metrics_hz}")
        if self.step_delay < 0:
            raise ConfigError(f"step delay must be >= 0, got {self.step_delay}")
        if self.view not in ("spectator", "env", "off"):
            raise ConfigError(f"unknown view {self.view!r} (choose from spectator, env, off)")
        if not 0 <= self.pace <= 1000:
            raise ConfigError(f"pace must be 0 (instant) to 1000 placements/s, got {self.pace}")
        if self.target_lines is not None and self.target_lines <= 0:
            raise ConfigError(f"target lines must be > 0, got {self.target_lines}")
        if self.eval_every is not None:
            _positive("eval_every", self.eval_every)
        _positive("eval_games", self.eval_games)
        self.env.validate()
        self.ppo.validate()

    @property
    def num_envs(self) -> int:
        """``n_envs``, or the default for the env kind: many batched placement games
        (one numpy pass steps them all, and PPO learns fastest in wall time with a
        large batch), or a few raw envs (each is a separate engine)."""
        if self.n_envs is not None:
            return self.n_envs
        return PLACEMENT_ENVS if self.env.kind == "placement" else RAW_ENVS

    def replace(self, **changes: Any) -> Config:
        """A copy with some top-level fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, stored in meta.json."""
        data = dataclasses.asdict(self)
        data["run_dir"] = str(self.run_dir)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        """Inverse of to_dict; unknown keys (from newer versions) are ignored."""
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        if isinstance(kwargs.get("env"), dict):
            kwargs["env"] = _sub(EnvConfig, kwargs["env"])
        if isinstance(kwargs.get("ppo"), dict):
            kwargs["ppo"] = _sub(PPOConfig, kwargs["ppo"])
        return cls(**kwargs)


def _sub(kind: type, data: dict[str, Any]) -> Any:
    known = {f.name for f in dataclasses.fields(kind)}
    return kind(**{k: v for k, v in data.items() if k in known})


def _positive(name: str, value: float) -> None:
    if value is None or value <= 0:
        raise ConfigError(f"{name} must be > 0, got {value}")
