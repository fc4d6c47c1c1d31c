"""Whole-run learning curves: bounded history and its reader (no UI, no numpy)."""
