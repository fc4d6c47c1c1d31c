"""Training side: the worker process and the UI-side session that drives it.

Importing this package is cheap: torch, stable-baselines3 and the env are only
imported inside the worker process.
"""
