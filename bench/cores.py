"""The one core that compared sides share, for every bench that compares two trainings.

Cores of one VM differ in speed by up to 10%, and a machine's drift is only
cancelled for work that shares a core, so each comparison pins both sides to
the last core and moves the bench process itself off it.
"""

from __future__ import annotations

import os

from tetris_tui.proctree import descendants


def pick_shared_core(leave: bool = True) -> int | None:
    """The core both sides share (None on one core); with ``leave``, this process moves off it."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return None
    if leave:
        os.sched_setaffinity(0, set(cores[:-1]))
    return cores[-1]


def pin_tree(pid: int, core: int) -> None:
    """Every thread of ``pid`` and of its descendants onto ``core``.

    ``sched_setaffinity(pid)`` moves one thread only; a running worker already
    has its queue feeder and torch's threads, so each task is moved.
    """
    for process in (pid, *descendants(pid)):
        for task in os.listdir(f"/proc/{process}/task"):
            os.sched_setaffinity(int(task), {core})
