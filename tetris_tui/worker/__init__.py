"""The trainer (and play) worker processes: env, PPO, callback, reporting.

Importing this package is cheap: torch, stable-baselines3 and the env are
only imported inside the worker process.
"""
