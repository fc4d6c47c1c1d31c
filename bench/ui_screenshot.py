"""``bench/ui.py --screenshot``: the real app trained for a while, saved as an SVG."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tetris_tui.config import Config, EnvConfig


def screenshot(path: Path, seconds: float, size: tuple[int, int], env: str) -> None:
    """Train for ``seconds`` in the real app (headless, run_test) and save an SVG."""
    import asyncio

    from tetris_tui.ui.app import TetrisApp

    async def run(run_dir: Path) -> None:
        config = Config(
            n_envs=2, run_dir=run_dir, seed=1, device="cpu", env=EnvConfig(kind=env), fps=10
        )
        app = TetrisApp(config)
        async with app.run_test(size=size) as pilot:
            await pilot.press("s")
            await pilot.pause(seconds)
            for _ in range(600):  # the spectator's board (it starts at low priority)
                if app.main.feed.shown is not None or app.config.env.kind != "placement":
                    break
                await pilot.pause(0.2)
            app.clear_notifications()
            await pilot.pause(0.5)
            app.save_screenshot(filename=path.name, path=str(path.parent))
            await pilot.press("q", "x")  # q asks: x stops training and quits
            while app.is_running:
                await pilot.pause(0.2)

    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    here = Path.cwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # the status line then shows the usual "checkpoints"
        try:
            asyncio.run(run(Path("checkpoints")))
        finally:
            os.chdir(here)
    print(f"saved {path}")
