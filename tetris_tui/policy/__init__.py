"""Policies for the placement env (imported by the worker, never by the UI)."""

from tetris_tui.policy.placement import PlacementPolicy, placement_ppo_kwargs

__all__ = ["PlacementPolicy", "placement_ppo_kwargs"]
