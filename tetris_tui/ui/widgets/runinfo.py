"""The run panel under the board: what is being trained, and how.

Fills the space the board leaves on tall terminals (and disappears on short
ones): the env, the PPO knobs and the reporting rates, from the Config alone.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widget import Widget

from tetris_tui.config import Config
from tetris_tui.ui.widgets.series import fmt_num


def config_rows(config: Config) -> list[tuple[str, str]]:
    """(label, value) pairs worth seeing while a run trains."""
    ppo = config.ppo
    rows = [
        ("env", f"{config.env.kind} × {config.num_envs}" + _procs(config.env_procs)),
        ("device", f"{config.device} · {config.vec_env} vec"),
        ("seed", "random" if config.seed is None else str(config.seed)),
        ("lr", f"{ppo.learning_rate:g}"),
        ("γ · ent", f"{ppo.gamma:g} · {ppo.ent_coef:g}"),
        ("rollout", f"{ppo.n_steps} × {config.num_envs} steps"),
        ("batch", f"{ppo.batch_size} · {ppo.n_epochs} epochs"),
        ("save", f"every {fmt_num(config.checkpoint_every)}"),
        ("frames", f"{config.fps:g}/s" if config.fps > 0 else "off"),
    ]
    if config.target_lines is not None:
        rows.append(("target", f"{config.target_lines:g} lines/game"))
    if config.eval_every is not None:
        rows.append(("eval", f"{config.eval_games} games / {fmt_num(config.eval_every)} steps"))
    return rows


def _procs(env_procs: int) -> str:
    return f" in {env_procs} procs" if env_procs > 1 else ""


class RunInfo(Widget):
    """Key/value lines describing the run's config."""

    DEFAULT_CSS = """
    RunInfo { height: auto; }
    RunInfo > .runinfo--label { color: $text-muted; }
    """
    COMPONENT_CLASSES = {"runinfo--label"}

    def __init__(self, rows: list[tuple[str, str]], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows = rows

    def set_rows(self, rows: list[tuple[str, str]]) -> None:
        if rows != self.rows:
            self.rows = rows
            self.refresh(layout=True)

    def render(self) -> Table:
        table = Table.grid(padding=(0, 1))
        label = self.get_component_rich_style("runinfo--label")
        table.add_column(style=label, no_wrap=True)
        table.add_column(no_wrap=True, overflow="ellipsis")
        for key, value in self.rows:
            table.add_row(key, Text(value))
        return table
