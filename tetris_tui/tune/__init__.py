"""``tetris-tui tune``: an Optuna study whose trials are ordinary training runs.

Each trial is a run directory (``STUDY_DIR/trial-0007/``) trained by the very
trainer ``--headless`` starts, in its own process, so ``ls``, ``attach``,
``play`` and ``models`` work on it. The study is a plain Optuna study: the
embedded journal file by default, a database URL to spread it over machines.

Processes: the runner (``runner.py``: the screen or ``--headless`` lines)
starts K tune workers (``worker.py``); each asks Optuna for a trial and runs it
(``objective.py``) as a ``tetris-tui --headless`` child. Nothing here imports
torch: the final score comes from ``tetris-tui play --headless``.
"""
