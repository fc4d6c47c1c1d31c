"""Greedy evaluation games: how well does the model play when it stops exploring?

Used by the learning benchmark, by ``tetris-tui play --headless`` and by periodic
evaluation during training. Games run side by side (one env per game), so each
step is one batched forward pass of the policy instead of ``n_games`` of them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tetris_tui.config import EnvConfig


@dataclass(frozen=True)
class GameResult:
    """One finished game. ``capped``: stopped at ``max_pieces`` rather than lost."""

    lines: int
    pieces: int
    reward: float
    capped: bool


def play_games(
    model: Any,
    n_games: int,
    env_config: EnvConfig | None = None,
    seed: int | None = None,
    max_pieces: int = 10_000,
    on_step: Callable[[int, int], Any] | None = None,
    deterministic: bool = True,
) -> list[GameResult]:
    """Play ``n_games`` games with ``model.predict`` and return their results in order.

    ``model`` is anything with SB3's ``predict(obs, deterministic=...)`` (a PPO or a
    policy). Game ``i`` is seeded with ``seed + i`` when ``seed`` is given (use
    ``seed >= 1``: tetris-gymnasium treats 0 as "no seed"). ``max_pieces`` caps each
    game (0 = no cap). ``on_step(steps, finished)`` is called after each batched
    step; returning True stops early (unfinished games are then left out).
    """
    config = env_config or EnvConfig()
    if config.kind == "placement":
        return _play_batched(model, n_games, config, seed, max_pieces, on_step, deterministic)
    from tetris_tui.envs import make_env

    envs = [make_env(config, max_pieces=max_pieces) for _ in range(n_games)]
    obs = [env.reset(seed=None if seed is None else seed + i)[0] for i, env in enumerate(envs)]
    results: list[GameResult | None] = [None] * n_games
    active = list(range(n_games))
    steps = 0
    try:
        while active:
            batch = _stack([obs[i] for i in active])
            actions, _ = model.predict(batch, deterministic=deterministic)
            still = []
            for i, action in zip(active, np.asarray(actions).reshape(len(active)), strict=True):
                obs[i], _, terminated, truncated, info = envs[i].step(action)
                if terminated or truncated:
                    game = info["game"]
                    results[i] = GameResult(
                        lines=int(game["lines"]),
                        pieces=int(game["pieces"]),
                        reward=float(game["reward"]),
                        capped=bool(game["capped"]),
                    )
                else:
                    still.append(i)
            active = still
            steps += 1
            if on_step is not None and on_step(steps, n_games - len(active)):
                break
    finally:
        for env in envs:
            env.close()
    return [r for r in results if r is not None]


def _play_batched(
    model: Any,
    n_games: int,
    config: EnvConfig,
    seed: int | None,
    max_pieces: int,
    on_step: Callable[[int, int], Any] | None,
    deterministic: bool,
) -> list[GameResult]:
    """``play_games`` on one batched env; a finished game's slot plays on, unrecorded.

    Greedy games go to ``envs.greedy_batch`` instead: the same games, with ended
    ones dropped from the batch (many times the placements/s for many games).
    """
    if deterministic:
        from tetris_tui.envs.greedy_batch import play_greedy

        act = _batched_actions(model, deterministic)
        run = play_greedy(act, n_games, config, seed, max_pieces, on_step)
        return [GameResult(r.lines, r.pieces, r.reward, r.capped) for r in run.results]
    from tetris_tui.envs.placement_vec import PlacementVecEnv

    env = PlacementVecEnv(n_games, dataclasses.replace(config, max_pieces=max_pieces), seed)
    obs = env.reset()
    results: list[GameResult | None] = [None] * n_games
    active = np.ones(n_games, dtype=bool)
    steps = 0
    act = _batched_actions(model, deterministic)
    while active.any():
        obs, _, dones, infos = env.step(act(obs))
        for i in np.flatnonzero(dones & active):
            game = infos[i]["game"]
            results[i] = GameResult(
                lines=int(game["lines"]),
                pieces=int(game["pieces"]),
                reward=float(game["reward"]),
                capped=bool(game["capped"]),
            )
            active[i] = False
        steps += 1
        if on_step is not None and on_step(steps, int(n_games - active.sum())):
            break
    return [r for r in results if r is not None]


def _batched_actions(model: Any, deterministic: bool) -> Callable[[np.ndarray], np.ndarray]:
    """``obs -> actions`` for a batch of placement games.

    Greedy play with the placement policy is the argmax of its masked scores,
    taken straight from its network: SB3's ``predict`` adds preprocessing and a
    distribution per step, most of the cost of evaluating games millions of
    pieces long. The network is the one ``predict(deterministic=True)`` plays
    (the averaged weights of a ``LeanPPO``), so the actions are the same
    (``test_evaluate`` checks it); any other model goes through ``predict``.
    """
    from tetris_tui.policy.lean_ppo import greedy_policy
    from tetris_tui.policy.placement import PlacementNet

    policy = greedy_policy(model)
    net = getattr(policy, "mlp_extractor", None)
    if deterministic and isinstance(net, PlacementNet):
        import torch

        device = next(net.parameters()).device

        def greedy(obs: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                logits = net.forward_actor(torch.as_tensor(obs, device=device))
            return logits.argmax(dim=1).cpu().numpy()

        return greedy

    def predicted(obs: np.ndarray) -> np.ndarray:
        actions, _ = model.predict(obs, deterministic=deterministic)
        return np.asarray(actions).reshape(len(obs))

    return predicted


def _stack(observations: list[Any]) -> Any:
    """Batch observations for ``predict`` (arrays, or dicts of arrays for the raw env)."""
    first = observations[0]
    if isinstance(first, dict):
        return {key: np.stack([o[key] for o in observations]) for key in first}
    return np.stack(observations)


def summarize(results: list[GameResult]) -> dict[str, float]:
    """Mean, median and max lines per game, plus how many games hit the cap."""
    lines = np.array([r.lines for r in results], dtype=np.float64)
    if lines.size == 0:
        return {"games": 0, "mean": 0.0, "median": 0.0, "max": 0.0, "capped": 0}
    return {
        "games": int(lines.size),
        "mean": float(lines.mean()),
        "median": float(np.median(lines)),
        "max": float(lines.max()),
        "capped": int(sum(r.capped for r in results)),
    }
