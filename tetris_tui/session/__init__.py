"""The client side of a trainer: one spawned by this app, or one attached to.

No torch and no env: the UI process imports it.
"""
