"""Widget units: numbers, series, board glyphs, bounded episode log, NaN safety."""

from __future__ import annotations

import math

from ui_helpers import WidgetHost, fixed_board, fixed_episodes, screen_text

from tetris_tui import protocol as p
from tetris_tui.config import Config
from tetris_tui.ui.widgets.board import BoardView
from tetris_tui.ui.widgets.episodes import STAR, EpisodeLog
from tetris_tui.ui.widgets.learning import LearningPanel
from tetris_tui.ui.widgets.pieces import PIECES
from tetris_tui.ui.widgets.runinfo import config_rows
from tetris_tui.ui.widgets.series import Series, finite, fmt_duration, fmt_int, fmt_num
from tetris_tui.ui.widgets.spark import spark_rows
from tetris_tui.ui.widgets.status import StatusBar, StatusInfo


def test_finite_filters_nan_inf_none_and_bools():
    assert finite(None) is None
    assert finite(float("nan")) is None
    assert finite(float("inf")) is None
    assert finite("x") is None
    assert finite(True) is None
    assert finite(3) == 3.0


def test_number_formats():
    assert fmt_num(None) == "–"
    assert fmt_num(float("nan")) == "–"
    assert fmt_num(12) == "12"
    assert fmt_num(1.9412) == "1.94"
    assert fmt_num(0.01234) == "0.0123"
    assert fmt_num(123.4) == "123"
    assert fmt_num(12_345) == "12.3k"
    assert fmt_num(4_500_000) == "4.5M"
    assert fmt_num(50_000) == "50k" and fmt_num(5_000_000) == "5M"
    assert fmt_num(123_456) == "123.5k"
    assert fmt_num(-0.5) == "-0.5"
    assert fmt_int(12288) == "12,288"
    assert fmt_duration(75) == "1:15"
    assert fmt_duration(3725) == "1:02:05"


def test_series_bounded_nan_safe_with_all_time_extremes():
    series = Series(maxlen=5, mean_window=3)
    for value in [5, float("nan"), None, 1, 2, 3, 4, 9, float("inf")]:
        series.push(value)
    assert series.data() == [1.0, 2.0, 3.0, 4.0, 9.0]
    assert series.min == 1 and series.max == 9 and series.last == 9
    assert math.isclose(series.mean, (3 + 4 + 9) / 3)
    assert all(math.isfinite(v) for v in series.data())
    assert Series().mean is None and Series().last is None


def test_spark_rows_draw_what_textuals_sparkline_draws():
    """Same buckets, bar levels and colours as Textual's renderable, at any size."""
    import random
    import statistics

    from rich.color import Color
    from rich.console import Console
    from rich.segment import Segment
    from textual.renderables.sparkline import Sparkline

    console = Console(width=200, color_system="truecolor")
    low, high = (10, 40, 20), (200, 250, 90)
    rng = random.Random(3)
    cases = [[], [4.0], [1.0, 1.0, 1.0]] + [
        [rng.uniform(-5, 50) for _ in range(n)] for n in (2, 7, 31, 45, 46, 100, 1000)
    ]
    for data in cases:
        for width, height in ((11, 1), (44, 2), (45, 2), (60, 3)):
            expected = Sparkline(
                data,
                width=width,
                height=height,
                min_color=Color.from_rgb(*low),
                max_color=Color.from_rgb(*high),
                summary_function=statistics.fmean,
            )
            lines = Segment.split_lines(console.render(expected, console.options))
            # Cells as (char, rgb); the widget pads short lines with blank cells.
            want = [
                [(c, style and tuple(style.color.triplet)) for t, style, _ in line for c in t]
                for line in lines
            ]
            want = [line + [(" ", None)] * (width - len(line)) for line in want]
            got = [
                [(c, rgb) for t, rgb in line for c in t]
                for line in spark_rows(data, width, height, low, high)
            ]
            assert got == want


def test_every_piece_kind_has_its_own_glyph_and_colour():
    glyphs = [glyph for glyph, _ in PIECES.values()]
    colours = [colour for _, colour in PIECES.values()]
    assert sorted(PIECES) == sorted(p.PIECE_NAMES)
    assert len(set(glyphs)) == len(glyphs) == 7
    assert len(set(colours)) == 7
    assert all(len(glyph) == 2 for glyph in glyphs)


async def test_board_draws_cells_two_wide_and_the_side_panel():
    board = BoardView()
    async with WidgetHost(board).run_test(size=(40, 22)) as pilot:
        board.show_frame(fixed_board())
        await pilot.pause()
        lines = screen_text(pilot.app).splitlines()
        assert board.size == (30, 20)
        # Bottom row "LTTTSSOOJJ": L, T, S, O, J glyphs, two characters per cell.
        assert lines[19].startswith("▐▌▒▒▒▒▒▒░░░░▓▓▓▓▞▞▞▞│")
        assert "NEXT" in lines[0] and "HOLD" in screen_text(pilot.app)
        assert "LINES" in screen_text(pilot.app) and " 47" in screen_text(pilot.app)
        board.set_watching(False)
        await pilot.pause()
        assert "watching off" in screen_text(pilot.app)


async def test_board_crops_the_top_on_short_terminals():
    board = BoardView()
    async with WidgetHost(board).run_test(size=(40, 10)) as pilot:
        board.show_frame(fixed_board())
        await pilot.pause()
        lines = screen_text(pilot.app).splitlines()
        assert board.size.height == 10
        assert lines[9].startswith("▐▌▒▒▒▒▒▒░░░░▓▓▓▓▞▞▞▞")  # the stack is still visible


async def test_board_tolerates_short_or_odd_frames():
    board = BoardView()
    async with WidgetHost(board).run_test(size=(40, 22)) as pilot:
        board.show_frame(p.Board(cells=b"\x00" * 10, next_pieces=(99,), hold=1))
        await pilot.pause()
        cells = bytes([1, 9] + [0] * 198)
        board.show_frame(p.Board(cells=cells, highlight=b"\x01"))
        await pilot.pause()
        assert "╳╳╳╳" in screen_text(pilot.app)


async def test_episode_log_is_bounded_marks_records_and_follows():
    log = EpisodeLog(max_rows=50)
    async with WidgetHost(log).run_test(size=(60, 20)) as pilot:
        games = fixed_episodes(30)
        log.add_episodes(games[:10])
        log.add_episodes(games[10:])
        await pilot.pause()
        assert log.row_count == 30
        rows = log.row_texts()
        stars = [g.episode for g in games if rows[g.episode - 1].lstrip().startswith(STAR)]
        best = 0
        expected = []
        for game in games:
            if game.lines > best:
                best = game.lines
                expected.append(game.episode)
        assert stars == expected
        many = [
            p.Episode(episode=31 + i, lines=0, reward=0.0, pieces=1, length=1, timesteps=i, time=0)
            for i in range(200)
        ]
        log.add_episodes(many[:150])
        log.add_episodes(many[150:])
        await pilot.pause()
        assert log.row_count == 50 and log.games == 230
        assert log.following
        assert log.scroll_y == log.max_scroll_y > 0  # newest visible
        assert "230" in screen_text(pilot.app).splitlines()[-1]
        log.scroll_home(animate=False)
        await pilot.pause()
        assert not log.following
        assert "f: follow" in str(log.border_subtitle)
        log.follow()
        await pilot.pause()
        assert log.following and log.scroll_y == log.max_scroll_y


async def test_learning_panel_is_nan_safe():
    panel = LearningPanel()
    async with WidgetHost(panel).run_test(size=(80, 12)) as pilot:
        nan = float("nan")
        panel.add_metrics(
            p.Metrics(
                timesteps=1,
                steps_per_sec=nan,
                episodes=0,
                elapsed_s=0,
                train={"entropy": nan, "value_loss": float("inf"), "approx_kl": 0.01},
            )
        )
        panel.add_episodes(
            [p.Episode(episode=1, lines=2, reward=nan, pieces=3, length=4, timesteps=4, time=0)]
        )
        panel.flush()
        await pilot.pause()
        assert panel.series["sps"].data() == []
        assert panel.series["entropy"].data() == []
        assert panel.series["approx_kl"].data() == [0.01]
        assert panel.series["pieces"].data() == [3.0]
        assert panel.series["reward"].data() == []
        text = screen_text(pilot.app)
        assert "approx kl" in text and "nan" not in text.lower()


async def test_status_bar_keeps_the_state_visible_at_any_width():
    info = StatusInfo(
        run_dir="checkpoints/long/run/directory",
        state=p.PAUSED,
        timesteps=1_234_567,
        total_timesteps=5_000_000,
        steps_per_sec=840.5,
        elapsed_s=3725,
        delay=0.05,
        watching=False,
    )
    for width in (200, 100, 80, 50, 30):
        bar = StatusBar(info)
        async with WidgetHost(bar).run_test(size=(width, 3)) as pilot:
            await pilot.pause()
            line = screen_text(pilot.app).splitlines()[0]
            assert "PAUSED" in line, (width, line)
            assert len(line) <= width
            if width >= 80:
                assert "1,234,567" in line and "50ms" in line and "watch off" in line
            if width >= 200:
                assert "delay 50ms" in line and "1:02:05" in line


def test_the_run_panel_says_how_the_games_are_stepped() -> None:
    assert dict(config_rows(Config(n_envs=64)))["env"] == "placement × 64"
    assert dict(config_rows(Config(n_envs=64, env_procs=2)))["env"] == "placement × 64 in 2 procs"
