"""A stand-in model for the checkpoint and run-log unit tests."""

from __future__ import annotations

import io


class FakeModel:
    """Just enough of a PPO model for save_checkpoint."""

    def __init__(self, timesteps: int = 42, payload: bytes = b"PK-model-bytes") -> None:
        self.num_timesteps = timesteps
        self.payload = payload

    def save(self, target: io.BytesIO) -> None:
        target.write(self.payload)
