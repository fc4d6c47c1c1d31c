"""Rule sets: each game rule written once, for every env, replay and animation.

``rules_for(env_config)`` builds the rule set a run plays (its numpy kernels are
imported only then); ``base`` and ``board`` are light enough for the UI.
"""

from __future__ import annotations

import importlib
from typing import Any

from tetris_tui.rules.base import RULE_SETS, RuleSet


def rules_for(env_config: Any) -> RuleSet:
    """The rule set of an ``EnvConfig`` (its ``rules``, ``height`` and ``randomizer``)."""
    name = getattr(env_config, "rules", "gymnasium")
    module = importlib.import_module(f"tetris_tui.rules.{RULE_SETS[name]}")
    return module.build(
        height=getattr(env_config, "height", 20),
        randomizer=getattr(env_config, "randomizer", "bag"),
    )


__all__ = ["RuleSet", "rules_for"]
