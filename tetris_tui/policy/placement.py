"""A PPO policy that scores each placement from the board it leaves.

The observation is (40, F + 1): one row of afterstate features per placement
plus the legal mask (see ``tetris_tui.envs.placement``). The actor applies one
small scorer with SHARED weights to every row, so it learns "what makes a board
good" once instead of 40 times, and masks illegal placements with a large
negative logit: they are never chosen, neither sampled nor in deterministic
mode. The critic sees the whole state through pooled features (mean and max over
the legal placements).

It plugs into plain ``stable_baselines3.PPO``: the extractor returns the masked
logits as ``latent_pi`` and the action net is the identity, so every SB3 code
path (rollouts, ``evaluate_actions``, ``predict``, save/load) goes through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.policies import ActorCriticPolicy
from torch import nn

ILLEGAL_LOGIT = -1e8


def _mlp(n_in: int, hidden: Sequence[int], n_out: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(n_in, width), nn.Tanh()]
        n_in = width
    layers.append(nn.Linear(n_in, n_out))
    return nn.Sequential(*layers)


def max_over_placements(rows: torch.Tensor) -> torch.Tensor:
    """``rows.amax(dim=1)`` as a tree of elementwise maxima: the same numbers.

    torch's CPU ``amax`` over a middle dimension of (B, 40, F) took ~250 us for
    a minibatch of 256 and was the critic's largest cost; six ``maximum`` calls
    over halves take ~55 us (measured with torch 2.13, one thread).
    """
    while rows.shape[1] > 1:
        half = rows.shape[1] // 2
        merged = torch.maximum(rows[:, :half], rows[:, half : 2 * half])
        if rows.shape[1] % 2:
            merged = torch.cat([merged, rows[:, 2 * half :]], dim=1)
        rows = merged
    return rows[:, 0]


class TrainingDiverged(FloatingPointError):
    """Training produced NaN or infinite numbers: going on would train on garbage."""


def sample_placements(log_probs: torch.Tensor) -> torch.Tensor:
    """One draw per row from ``softmax`` probabilities, by inverse CDF.

    The same distribution as ``torch.multinomial(probs, 1)``, in about a third of
    its time for (128, 40) on one CPU thread. The CDF is summed in float64 and the
    uniform draw is a float32 (at most 1 - 2**-24), so the threshold stays below
    the CDF's top: the first entry above it always has a probability > 0, and an
    illegal placement (probability 0) is never drawn.

    A NaN anywhere in a row makes its CDF's top NaN, and every comparison with
    NaN is false, so the draw would silently be placement 0: that raises
    ``TrainingDiverged`` instead (torch's own checks are off in the worker).
    """
    cdf = log_probs.exp().double().cumsum_(dim=-1)
    top = cdf[:, -1:]
    if not bool(torch.isfinite(top).all()):
        raise TrainingDiverged("the policy's placement scores are NaN or infinite")
    uniform = torch.rand(len(cdf), 1, device=cdf.device)
    return (cdf <= uniform.double() * top).sum(dim=-1)


class PlacementNet(nn.Module):
    """Shared per-placement scorer (actor) and pooled-state value trunk (critic)."""

    def __init__(
        self,
        n_actions: int,
        n_columns: int,
        scorer_hidden: Sequence[int] = (),
        value_hidden: Sequence[int] = (64, 64),
        logit_scale: float = 10.0,
    ) -> None:
        super().__init__()
        self.n_actions = n_actions
        self.n_features = n_columns - 1
        self.logit_scale = logit_scale
        self.scorer = _mlp(self.n_features, scorer_hidden, 1)
        # Start from the uniform (random legal) policy: learning is then visible.
        last = self.scorer[-1]
        assert isinstance(last, nn.Linear)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        layers: list[nn.Module] = []
        n_in = 2 * self.n_features
        for width in value_hidden:
            layers += [nn.Linear(n_in, width), nn.Tanh()]
            n_in = width
        self.value_trunk = nn.Sequential(*layers)
        self.latent_dim_pi = n_actions
        self.latent_dim_vf = n_in

    def _split(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        rows = features.view(-1, self.n_actions, self.n_features + 1)
        return rows[..., :-1], rows[..., -1] > 0.5

    def scores(self, feats: torch.Tensor, legal: torch.Tensor) -> torch.Tensor:
        """The masked logits of placements whose features and legal mask are split."""
        logits = self.scorer(feats).squeeze(-1) * self.logit_scale
        return logits.masked_fill(~legal, ILLEGAL_LOGIT)

    def pooled(self, features: torch.Tensor) -> torch.Tensor:
        """The critic's input: mean and max of the features over the legal placements.

        It holds no weights, so a PPO update can compute it once per rollout.
        """
        rows = features.view(-1, self.n_actions, self.n_features + 1)
        # Illegal rows are all zero and features are >= 0, so a plain max is the max
        # over legal placements, and a plain sum over the legal count is their mean.
        # The mask column's sum is the legal count.
        total = rows.sum(dim=1)
        count = total[:, -1:].clamp(min=1)
        return torch.cat([total[:, :-1] / count, max_over_placements(rows)[:, :-1]], dim=1)

    def forward_actor(self, features: torch.Tensor) -> torch.Tensor:
        return self.scores(*self._split(features))

    def forward_critic(self, features: torch.Tensor) -> torch.Tensor:
        return self.value_trunk(self.pooled(features))

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward_actor(features), self.forward_critic(features)


class PlacementPolicy(ActorCriticPolicy):
    """``ActorCriticPolicy`` whose logits are masked per-placement scores.

    Extra kwargs: ``scorer_hidden`` (hidden widths of the shared scorer; empty =
    linear), ``value_hidden`` (critic trunk widths) and ``logit_scale``.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Any,
        scorer_hidden: Sequence[int] = (),
        value_hidden: Sequence[int] = (64, 64),
        logit_scale: float = 10.0,
        **kwargs: Any,
    ) -> None:
        if not isinstance(observation_space, spaces.Box) or len(observation_space.shape) != 2:
            raise ValueError("PlacementPolicy needs the placement env's (40, F+1) Box")
        if not isinstance(action_space, spaces.Discrete):
            raise ValueError("PlacementPolicy needs a Discrete action space")
        self.scorer_hidden = tuple(scorer_hidden)
        self.value_hidden = tuple(value_hidden)
        self.logit_scale = logit_scale
        kwargs.setdefault("ortho_init", False)
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)

    def _build_mlp_extractor(self) -> None:
        n_actions, n_columns = self.observation_space.shape  # type: ignore[misc]
        self.mlp_extractor = PlacementNet(
            n_actions, n_columns, self.scorer_hidden, self.value_hidden, self.logit_scale
        )

    def _build(self, lr_schedule: Any) -> None:
        super()._build(lr_schedule)
        # The extractor already yields the logits; SB3's extra linear layer would
        # mix placements and break the shared scoring.
        self.action_net = nn.Identity()
        self.optimizer = self.optimizer_class(
            self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs
        )

    def forward(
        self, obs: torch.Tensor, deterministic: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """SB3's rollout step (actions, values, log-probs) without a ``Categorical``.

        Building the distribution object took a quarter of the policy's time per
        rollout step. The numbers are the same: a softmax over the masked logits,
        one draw from it (argmax when deterministic), its log-probability. The draw
        is by inverse CDF (``sample_placements``), not ``torch.multinomial``.
        """
        net = self.mlp_extractor
        if not isinstance(net, PlacementNet) or not self.share_features_extractor:
            return super().forward(obs, deterministic)
        features = self.extract_features(obs)
        log_probs = torch.log_softmax(net.forward_actor(features), dim=-1)
        values = self.value_net(net.forward_critic(features))
        actions = log_probs.argmax(dim=-1) if deterministic else sample_placements(log_probs)
        return actions, values, log_probs.gather(1, actions.unsqueeze(1)).squeeze(1)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            scorer_hidden=self.scorer_hidden,
            value_hidden=self.value_hidden,
            logit_scale=self.logit_scale,
        )
        return data


def placement_ppo_kwargs(
    scorer_hidden: Sequence[int] = (),
    value_hidden: Sequence[int] = (64, 64),
    logit_scale: float = 10.0,
) -> dict[str, Any]:
    """``policy`` and ``policy_kwargs`` for ``PPO(policy, env, **kwargs)`` on the placement env."""
    return {
        "policy": PlacementPolicy,
        "policy_kwargs": {
            "scorer_hidden": list(scorer_hidden),
            "value_hidden": list(value_hidden),
            "logit_scale": logit_scale,
        },
    }
