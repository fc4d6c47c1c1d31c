"""A hand-tuned placement scorer: games with lines in them, without training first."""

from __future__ import annotations

import numpy as np

from tetris_tui.envs.features import FEATURE_INDEX, N_FEATURES

# Dellacherie-like weights over the scaled features (a good player clears many lines).
WEIGHTS = {
    "holes": -8.0,
    "aggregate_height": -5.0,
    "bumpiness": -2.0,
    "landing_height": -1.0,
    "lines": 3.0,
    "game_over": -100.0,
    "row_transitions": -2.0,
    "col_transitions": -2.0,
}


def heuristic(obs: np.ndarray) -> int:
    """The best legal placement by the weights above."""
    w = np.zeros(N_FEATURES, dtype=np.float32)
    for name, value in WEIGHTS.items():
        w[FEATURE_INDEX[name]] = value
    scores = obs[:, :-1] @ w
    scores[obs[:, -1] < 0.5] = -np.inf
    return int(np.argmax(scores))
