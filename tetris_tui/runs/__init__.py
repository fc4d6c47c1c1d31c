"""The run directory: checkpoints, history, locks, atomic writes, listing.

No torch, no env, no UI: the worker, the UI and the CLI all use it.
"""
