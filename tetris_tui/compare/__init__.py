"""Runs side by side: loading and grouping runs, the overlaid chart, and exports."""
