"""Builds the vectorised env and the PPO model for a config (worker side only)."""

from __future__ import annotations

import signal
from typing import Any

from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv, VecMonitor

from tetris_tui.config import Config, EnvConfig, PPOConfig
from tetris_tui.envs import make_env
from tetris_tui.policy.lean_ppo import LeanPPO


class _EnvBuilder:
    """A picklable env constructor, so SubprocVecEnv can build envs in its children."""

    def __init__(self, env_config: EnvConfig, in_child: bool = False) -> None:
        self.env_config = env_config
        self.in_child = in_child

    def __call__(self) -> Any:
        if self.in_child:
            # The trainer decides when to stop: a group SIGTERM (systemd, docker stop)
            # killed these mid-step and the run crashed unsaved. They end when the
            # trainer closes them, or at its exit (their pipe's end of file).
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        return make_env(self.env_config)


def build_vec_env(config: Config) -> VecEnv:
    """The training games: one batched env, or ``num_envs`` envs in-process or in subprocesses.

    ``auto`` plays placement games in one ``PlacementVecEnv``: one numpy pass
    steps them all, so a step of 256 games costs about 22 single-game steps
    (``env_procs`` > 1 splits them over that many processes). The
    per-key env gains from subprocesses when there is more than one; ``dummy``
    and ``subproc`` force one ``make_env`` per game (the previous stack).
    """
    n = config.num_envs
    venv: VecEnv
    if config.env.kind == "placement" and config.vec_env == "auto":
        if config.env_procs > 1:
            from tetris_tui.envs.sharded_vec import ShardedPlacementVecEnv

            venv = ShardedPlacementVecEnv(n, config.env, config.env_procs)
        else:
            from tetris_tui.envs.placement_vec import PlacementVecEnv

            venv = PlacementVecEnv(n, config.env)
    else:
        use_subproc = config.vec_env == "subproc" or (
            config.vec_env == "auto" and n > 1 and config.env.kind == "raw"
        )
        builders = [_EnvBuilder(config.env, in_child=use_subproc) for _ in range(n)]
        venv = SubprocVecEnv(builders) if use_subproc else DummyVecEnv(builders)
    if config.seed is not None:
        # tetris-gymnasium treats seed 0 as "no seed", so shift by one.
        venv.seed(config.seed + 1)
    return VecMonitor(venv)


def policy_for(config: Config) -> tuple[Any, dict[str, Any]]:
    """The policy class (or name) and its kwargs for the configured env kind."""
    if config.env.kind == "raw":
        return "MultiInputPolicy", {}
    from tetris_tui.policy.placement import placement_ppo_kwargs

    ppo = config.ppo
    kwargs = dict(
        placement_ppo_kwargs(
            scorer_hidden=(ppo.scorer_width,) if ppo.scorer_width else (),
            value_hidden=(ppo.value_width, ppo.value_width),
        )
    )
    policy = kwargs.pop("policy")
    return policy, kwargs.get("policy_kwargs", {})


def network_widths(model: Any) -> dict[str, int]:
    """The widths a (loaded) placement model was built with, as PPOConfig names them;
    empty for other policies."""
    policy = getattr(model, "policy", None)
    value_hidden = tuple(getattr(policy, "value_hidden", ()))
    if not value_hidden or not hasattr(policy, "scorer_hidden"):
        return {}
    scorer_hidden = tuple(policy.scorer_hidden)
    return {
        "value_width": int(value_hidden[0]),
        "scorer_width": int(scorer_hidden[0]) if scorer_hidden else 0,
    }


def torch_device(config: Config) -> str:
    """``auto`` means the CPU: these policies are small MLPs, which PPO trains
    faster on the CPU than through GPU transfers (SB3 warns the same). A user who
    wants the GPU says ``--device cuda``.
    """
    return "cpu" if config.device == "auto" else config.device


def configure_torch(config: Config) -> None:
    """Torch settings for a worker: its thread count, and no argument checks.

    Every step builds a Categorical over the placements, and torch checks its
    logits and each sampled action by default. Those checks never fail here
    (SB3 builds both) and took ~8% of a training step (py-spy); they change no
    number, only whether a bad input raises.
    """
    import torch

    if config.torch_threads > 0:
        torch.set_num_threads(config.torch_threads)
    torch.distributions.Distribution.set_default_validate_args(False)


def new_model(config: Config, venv: VecEnv, algorithm: type[PPO] = LeanPPO) -> PPO:
    """A fresh PPO. ``LeanPPO`` runs SB3's update in fewer operations (same numbers);
    benchmarks pass ``PPO`` to measure the stock update."""
    policy, policy_kwargs = policy_for(config)
    ppo = config.ppo
    model = algorithm(
        policy,
        venv,
        learning_rate=ppo.learning_rate,
        n_steps=ppo.n_steps,
        batch_size=ppo.batch_size,
        n_epochs=ppo.n_epochs,
        gamma=ppo.gamma,
        gae_lambda=ppo.gae_lambda,
        clip_range=ppo.clip_range,
        ent_coef=ppo.ent_coef,
        vf_coef=ppo.vf_coef,
        max_grad_norm=ppo.max_grad_norm,
        policy_kwargs=policy_kwargs,
        seed=config.seed,
        device=torch_device(config),
        verbose=0,
    )
    model.greedy_average_steps = ppo.greedy_average_steps  # read by LeanPPO only
    return model


# PPO's hyper-parameters, as named by both PPOConfig and stable-baselines3.
# The network's widths are not among them: they are the shape of the saved
# weights, which a resumed run keeps (Trainer._keep_saved_network).
NETWORK_FIELDS = ("value_width", "scorer_width")
PPO_FIELDS = tuple(f for f in PPOConfig.__dataclass_fields__ if f not in NETWORK_FIELDS)


def load_model(path: Any, config: Config, venv: VecEnv) -> PPO:
    """Load a saved model onto ``venv`` with the hyper-parameters of ``config``.

    PPO.load alone keeps the saved ones, so a resumed run given a new learning
    rate would silently train with the old. SB3 applies these keyword arguments
    before it rebuilds the schedules and the rollout buffer; the learning rate
    reaches the optimizer at the next update. SB3 checks the spaces match.
    """
    overrides = {name: getattr(config.ppo, name) for name in PPO_FIELDS}
    return LeanPPO.load(path, env=venv, device=torch_device(config), **overrides)
