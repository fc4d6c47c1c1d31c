"""tetris-tui: train a PPO agent to play Tetris and watch it learn, in a terminal."""

__version__ = "0.1.0"
