"""The learner's policy weights in shared memory, for the spectator process to read.

Publishing is one ``memcpy`` of the flat parameter vector (6k floats for the
placement policy) into a ``RawArray`` and two counter writes: no pickling, no
queue feeder thread, so it costs training nothing measurable even at every PPO
update. A version counter works as a seqlock: odd while a copy is in progress,
and the reader retries when it changed under it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

# torch is imported where it is used: unpickling this object in the spectator
# process must not import torch before the spectator has lowered its priority.


class SharedWeights:
    """A flat float32 copy of a policy's parameters, plus the timesteps they come from."""

    def __init__(self, context: Any, numel: int) -> None:
        self.numel = numel
        self.array = context.RawArray("f", numel)
        self.version = context.RawValue("q", 0)
        self.timesteps = context.RawValue("q", 0)

    @classmethod
    def for_policy(cls, context: Any, policy: torch.nn.Module) -> SharedWeights:
        return cls(context, sum(p.numel() for p in policy.parameters()))

    def _view(self) -> torch.Tensor:
        import torch

        return torch.frombuffer(self.array, dtype=torch.float32, count=self.numel)

    def publish(self, policy: torch.nn.Module, timesteps: int) -> None:
        """Copy ``policy``'s parameters in (learner side)."""
        import torch
        from torch.nn.utils import parameters_to_vector

        with torch.no_grad():
            flat = parameters_to_vector(policy.parameters()).detach().to("cpu", torch.float32)
            self.version.value += 1  # odd: a copy is in progress
            self._view().copy_(flat)
            self.timesteps.value = int(timesteps)
            self.version.value += 1

    def load_into(self, policy: torch.nn.Module, seen: int) -> int | None:
        """Copy the weights into ``policy`` if newer than version ``seen``; the new version."""
        for _ in range(100):
            version = self.version.value
            if version == seen or version == 0:
                return None
            if version % 2:
                continue
            flat = self._view().clone()
            if self.version.value == version:
                import torch
                from torch.nn.utils import vector_to_parameters

                with torch.no_grad():
                    vector_to_parameters(flat, policy.parameters())
                return version
        return None
