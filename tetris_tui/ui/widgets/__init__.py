"""Widgets of the app. Each one draws the data it is given and nothing else."""
