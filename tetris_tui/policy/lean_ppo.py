"""PPO whose update is SB3's, computed with fewer tensor operations.

A training step of the batched placement env costs ~18 us of rollout and ~44 us
of update (2 cores, 64 games, minibatch 256, 4 epochs): the update was the
bottleneck, and almost all of it was per-operation overhead, since the policy is
tiny. SB3's ``PPO.train`` rebuilds the critic's pooled input and a
``Categorical`` for every minibatch, copies every sample out of the numpy buffer
each epoch and syncs on five ``.item()`` calls per minibatch.

``LeanPPO.train`` keeps SB3's algorithm: the same minibatches from the same
``np.random.permutation`` calls, the same losses, clipping, gradient-norm clip,
optimizer and logged figures (tested to give the same weights as ``PPO.train``).
It computes what holds no weights once per rollout: the rollout as tensors and
the critic's pooled input. Anything but ``PlacementPolicy`` with its flatten
extractor falls back to ``PPO.train``. Saved models are plain PPO zips.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.torch_layers import FlattenExtractor
from stable_baselines3.common.utils import explained_variance
from torch.nn import functional as F
from torch.nn.utils import parameters_to_vector

from tetris_tui.policy.placement import PlacementNet, PlacementPolicy, TrainingDiverged
from tetris_tui.policy.weight_average import WeightAverage


class LeanPPO(PPO):
    """``stable_baselines3.PPO`` with a faster ``train`` for ``PlacementPolicy``,
    and greedy play from an average of recent weights (``weight_average``).

    ``greedy_average_steps`` (a ``PPOConfig`` field, set as an attribute like
    SB3's own) is the average's horizon in timesteps; 0 plays the live weights.
    ``predict(deterministic=True)`` and ``save`` use the average, so evaluation,
    ``best``, ``play`` and a resumed run all start from it; sampling in rollouts
    and the updates use the live weights.

    A loss or weight that is no longer finite (too high a learning rate) raises
    ``TrainingDiverged`` at once, before the average takes it in, so nothing
    later saves NaN weights: the worker ends as crashed, its last checkpoint kept.
    """

    greedy_average_steps: int = 0
    _average: WeightAverage | None = None

    def train(self) -> None:
        policy = self.policy
        try:
            if not (
                isinstance(policy, PlacementPolicy)
                and isinstance(policy.mlp_extractor, PlacementNet)
                and isinstance(policy.features_extractor, FlattenExtractor)
                and policy.share_features_extractor
            ):
                super().train()
            else:
                self._train_placement(policy, policy.mlp_extractor)
        except RuntimeError as exc:
            # Adam's step size overflowing float32 (a learning rate near 1e38).
            if "overflow" not in str(exc):
                raise
            raise self._diverged("an optimizer step overflowed") from exc
        self._check_finite()
        self._update_average()

    def collect_rollouts(self, *args: Any, **kwargs: Any) -> bool:
        """SB3's rollout; a policy whose scores are NaN is reported with its cause.

        Huge but finite weights pass the check after an update and give NaN
        scores here: ``sample_placements`` raises ``TrainingDiverged``; SB3's
        ``Categorical`` (other policies) raises torch's own NaN error.
        """
        try:
            return super().collect_rollouts(*args, **kwargs)
        except TrainingDiverged as exc:
            raise self._diverged(str(exc)) from exc
        except (RuntimeError, ValueError) as exc:
            if "nan" not in str(exc).lower():
                raise
            raise self._diverged("the policy's action probabilities are NaN") from exc

    def _check_finite(self) -> None:
        """Raise ``TrainingDiverged`` if the update left a non-finite loss or weight.

        One check of a few thousand numbers per update: nothing next to the update.
        """
        loss = self.logger.name_to_value.get("train/loss", 0.0)
        if not math.isfinite(loss):
            raise self._diverged("the loss is NaN or infinite")
        if not bool(torch.isfinite(parameters_to_vector(self.policy.parameters())).all()):
            raise self._diverged("the policy's weights are NaN or infinite")

    def _diverged(self, what: str) -> TrainingDiverged:
        """The one line a user reads when training diverged: what, when, and the likely cause."""
        rate = self.lr_schedule(self._current_progress_remaining)
        return TrainingDiverged(
            f"training diverged at {self.num_timesteps:,} timesteps: {what}; "
            f"the learning rate ({rate:g}) is the likely cause: try a smaller --learning-rate"
        )

    @property
    def greedy_policy(self) -> torch.nn.Module:
        """The policy that plays greedy games: the average if one is kept."""
        return self.policy if self._average is None else self._average.policy

    def _update_average(self) -> None:
        """Fold the weights of the update that just ended into the average."""
        if self.greedy_average_steps <= 0:
            self._average = None
            return
        if self._average is None:
            rollout = self.n_steps * self.n_envs
            self._average = WeightAverage(self.policy, self.greedy_average_steps, rollout)
        self._average.update(self.policy, self.num_timesteps)

    def predict(
        self,
        observation: np.ndarray | dict[str, np.ndarray],
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """SB3's ``predict``; a greedy move comes from the averaged weights."""
        if deterministic and self._average is not None:
            return self._average.policy.predict(observation, state, episode_start, deterministic)
        return super().predict(observation, state, episode_start, deterministic)

    def get_parameters(self) -> dict[str, dict]:
        """What ``save`` writes: the averaged policy, and the live optimizer state."""
        params = super().get_parameters()
        if self._average is not None:
            params["policy"] = self._average.policy.state_dict()
        return params

    def save(self, path: Any, exclude: Any = None, include: Any = None) -> None:
        """SB3's ``save``, with array descriptions in its JSON summarised.

        SB3 writes ``str()`` of each attribute of the observation space beside
        its pickle, for people to read: the (40, 14) bounds printed in full
        were half the cost of a save (~10 of ~20 ms, paid at every ``best``).
        """
        with np.printoptions(threshold=16, edgeitems=2):
            super().save(path, exclude, include)

    def _excluded_save_params(self) -> list[str]:
        """Also left out: the average (saved as the policy) and the last rollout's
        observations. A resumed run plays a fresh env, so SB3 resets it and
        starts from its own observations (``_last_obs`` is None) instead of
        those of the games the saving run was playing; leaving out the 256
        boards of (40, 14) floats made a save ~4 ms cheaper."""
        last = ["_last_obs", "_last_original_obs", "_last_episode_starts"]
        return [*super()._excluded_save_params(), "_average", *last]

    def _rollout_tensors(self, net: PlacementNet) -> dict[str, torch.Tensor]:
        """The rollout in time-major order, as tensors on the policy's device.

        ``feats``, ``legal`` and ``pooled`` depend on the observations only, so
        they are computed here once, not once per minibatch and epoch.
        """
        buffer = self.rollout_buffer
        n = buffer.buffer_size * buffer.n_envs

        def flat(array: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(array.reshape(n, *array.shape[2:]), device=self.device)

        obs = flat(buffer.observations).reshape(n, -1)  # type: ignore[arg-type]
        with torch.no_grad():
            feats, legal = net._split(obs)
            pooled = net.pooled(obs)
        return {
            # Contiguous, so that a minibatch is one fast ``index_select``.
            "feats": feats.contiguous(),
            "legal": legal,
            "pooled": pooled,
            "actions": flat(buffer.actions).long().flatten(),
            "old_values": flat(buffer.values).flatten(),
            "old_log_prob": flat(buffer.log_probs).flatten(),
            "advantages": flat(buffer.advantages).flatten(),
            "returns": flat(buffer.returns).flatten(),
        }

    def _train_placement(self, policy: PlacementPolicy, net: PlacementNet) -> None:
        policy.set_training_mode(True)
        self._update_learning_rate(policy.optimizer)
        clip_range = self.clip_range(self._current_progress_remaining)  # type: ignore[operator]
        clip_range_vf = None
        if self.clip_range_vf is not None:
            clip_range_vf = self.clip_range_vf(self._current_progress_remaining)  # type: ignore[operator]
        data = self._rollout_tensors(net)
        buffer = self.rollout_buffer
        n_steps, n_envs = buffer.buffer_size, buffer.n_envs
        n = n_steps * n_envs
        params = list(policy.parameters())
        figures: dict[str, list[torch.Tensor]] = {
            "pg": [],
            "clip": [],
            "value": [],
            "entropy": [],
        }
        approx_kl_divs: list[torch.Tensor] = []
        loss = torch.zeros(())
        continue_training = True
        for _epoch in range(self.n_epochs):
            approx_kl_divs = []
            # SB3's order: a permutation of the env-major flattening, per epoch.
            env_major = np.random.permutation(n)
            time_major = (env_major % n_steps) * n_envs + env_major // n_steps
            order = torch.as_tensor(time_major, device=self.device)
            for start in range(0, n, self.batch_size):
                batch = _minibatch(data, order[start : start + self.batch_size])
                logits = net.scores(batch["feats"], batch["legal"])
                log_probs = torch.log_softmax(logits, dim=-1)
                log_prob = log_probs.gather(1, batch["actions"].unsqueeze(1)).squeeze(1)
                entropy = -(log_probs.exp() * log_probs).sum(dim=-1)
                values = policy.value_net(net.value_trunk(batch["pooled"])).flatten()

                advantages = batch["advantages"]
                if self.normalize_advantage and len(advantages) > 1:
                    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
                old_log_prob = batch["old_log_prob"]
                ratio = torch.exp(log_prob - old_log_prob)
                clipped = torch.clamp(ratio, 1 - clip_range, 1 + clip_range)
                policy_loss = -torch.min(advantages * ratio, advantages * clipped).mean()
                if clip_range_vf is None:
                    values_pred = values
                else:
                    old_values = batch["old_values"]
                    values_pred = old_values + torch.clamp(
                        values - old_values, -clip_range_vf, clip_range_vf
                    )
                value_loss = F.mse_loss(batch["returns"], values_pred)
                entropy_loss = -torch.mean(entropy)
                loss = policy_loss + self.ent_coef * entropy_loss + self.vf_coef * value_loss

                with torch.no_grad():
                    log_ratio = log_prob - old_log_prob
                    approx_kl_divs.append(torch.mean((torch.exp(log_ratio) - 1) - log_ratio))
                    figures["pg"].append(policy_loss.detach())
                    figures["clip"].append(torch.mean((torch.abs(ratio - 1) > clip_range).float()))
                    figures["value"].append(value_loss.detach())
                    figures["entropy"].append(entropy_loss.detach())
                if self.target_kl is not None and approx_kl_divs[-1].item() > 1.5 * self.target_kl:
                    continue_training = False
                    break

                policy.optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, self.max_grad_norm)
                policy.optimizer.step()

            self._n_updates += 1
            if not continue_training:
                break

        explained_var = explained_variance(buffer.values.flatten(), buffer.returns.flatten())
        record = self.logger.record
        record("train/entropy_loss", _mean(figures["entropy"]))
        record("train/policy_gradient_loss", _mean(figures["pg"]))
        record("train/value_loss", _mean(figures["value"]))
        record("train/approx_kl", _mean(approx_kl_divs))
        record("train/clip_fraction", _mean(figures["clip"]))
        record("train/loss", loss.item())
        record("train/explained_variance", explained_var)
        record("train/n_updates", self._n_updates, exclude="tensorboard")
        record("train/clip_range", clip_range)
        if clip_range_vf is not None:
            record("train/clip_range_vf", clip_range_vf)


def greedy_policy(model: Any) -> Any:
    """The policy whose argmax is ``model.predict(obs, deterministic=True)``.

    A ``LeanPPO``'s greedy play is its averaged policy, not ``model.policy``
    (the live weights): every shortcut that skips ``predict`` for speed (batched
    evaluation, best-game recording) must take its policy from here. A plain PPO
    (a loaded model: its saved policy is the average) or a bare policy is its
    own greedy policy.
    """
    chosen = getattr(model, "greedy_policy", None)
    if chosen is not None:
        return chosen
    return getattr(model, "policy", model)


def _minibatch(data: dict[str, torch.Tensor], index: torch.Tensor) -> dict[str, torch.Tensor]:
    """The rows ``index`` of every rollout tensor.

    ``index_select`` on a contiguous tensor, not ``tensor[index]``: for the
    (1024, 40, 13) features that took ~0.1 ms instead of ~1.2 ms from the
    strided view (torch 2.13, one thread), and a whole update of the default
    rollout ran 1.14x faster (the same rollout, old and new interleaved).
    """
    return {name: tensor.index_select(0, index) for name, tensor in data.items()}


def _mean(values: list[torch.Tensor]) -> float:
    """The mean of per-minibatch figures, read with one sync at the end."""
    if not values:
        return float("nan")
    return float(torch.stack(values).double().mean())
