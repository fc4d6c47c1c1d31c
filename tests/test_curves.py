"""The whole-run curve's parts without the UI: buckets, the events.jsonl reader, the chart."""

from __future__ import annotations

import json
import math
import random
import tracemalloc

import pytest

from tetris_tui import protocol as p
from tetris_tui.curves import sidecar
from tetris_tui.curves.buckets import BucketHistory, ema
from tetris_tui.curves.reader import read_curve
from tetris_tui.runs.runlog import RunLog
from tetris_tui.ui.widgets.braille import Canvas
from tetris_tui.ui.widgets.chart import STEPS, TIME, View, draw, nice_ceiling

T0 = 1_700_000_000.0


def game(i: int, lines: int) -> p.Episode:
    return p.Episode(
        episode=i,
        lines=lines,
        reward=lines - 0.5,
        pieces=10 + lines,
        length=10 + lines,
        timesteps=i * 40,
        time=T0 + i * 0.5,
        duration_s=0.5,
        env_index=i % 4,
        capped=i % 7 == 0,
    )


def values(n: int, seed: int = 1) -> list[int]:
    rng = random.Random(seed)
    return [rng.randrange(0, 30) + i // 100 for i in range(n)]


# -- buckets ---------------------------------------------------------------------------
def test_buckets_stay_bounded_and_keep_every_game_from_the_first():
    ys = values(100_000)
    hist = BucketHistory(capacity=64)
    for i, y in enumerate(ys):
        hist.add(y, i * 10, T0 + i)
        assert len(hist) <= 64
    assert hist.count == len(ys) == sum(b.count for b in hist)
    assert math.isclose(sum(b.total for b in hist), sum(ys))
    assert min(b.low for b in hist) == min(ys) and max(b.high for b in hist) == max(ys)
    first, last = hist.buckets[0], hist.buckets[-1]
    assert (first.steps0, first.time0) == (0, T0)  # the curve starts at game one
    assert (last.steps1, last.time1) == ((len(ys) - 1) * 10, T0 + len(ys) - 1)
    assert hist.span == 2048  # 100,000 games over at most 64 buckets: spans doubled
    # Buckets are consecutive games: each starts where the one before ended.
    for before, after in zip(hist.buckets, hist.buckets[1:], strict=False):
        assert after.steps0 == before.steps1 + 10
        assert before.count == hist.span


def test_extend_is_add_in_bulk():
    ys = values(5_000)
    steps = [i * 40 for i in range(len(ys))]
    times = [str(T0 + i).encode() for i in range(len(ys))]  # bytes, as the reader passes
    one, bulk = BucketHistory(capacity=32), BucketHistory(capacity=32)
    for y, x, t in zip(ys, steps, times, strict=True):
        one.add(y, x, float(t))
    for start in range(0, len(ys), 777):  # uneven slices, across bucket edges
        end = start + 777
        bulk.extend(ys[start:end], steps[start:end], times[start:end])
    assert one.buckets == bulk.buckets and one.span == bulk.span and one.count == bulk.count


def test_non_finite_games_are_skipped():
    hist = BucketHistory()
    hist.add(float("nan"), 1, T0)
    hist.add(float("inf"), 2, T0)
    hist.add(3, 3, T0)
    assert hist.count == 1 and hist.buckets[0].mean == 3


def test_ema_is_debiased_and_does_not_change_as_buckets_merge():
    ys = [10.0] * 50 + [20.0] * 450
    fine, coarse = BucketHistory(capacity=1024), BucketHistory(capacity=16)
    for i, y in enumerate(ys):
        fine.add(y, i, T0 + i)
        coarse.add(y, i, T0 + i)
    assert ema(fine.buckets, 100)[0] == 10.0  # starts at the first game, not at 0
    assert ema(fine.buckets, 1) == [b.mean for b in fine.buckets]  # off: the raw points
    # Read at the same game (the last), the per-game EMA is nearly the same however
    # bucketed (a bucket counts as n games of its mean: only a bucket that mixes the
    # 10s and the 20s differs), and far from the plain mean of the buckets (18).
    fine_end, coarse_end = ema(fine.buckets, 100)[-1], ema(coarse.buckets, 100)[-1]
    assert coarse.span == 32 and math.isclose(fine_end, coarse_end, rel_tol=1e-3)
    assert fine_end > 19.9
    assert 10 < ema(fine.buckets, 1000)[-1] < ema(fine.buckets, 100)[-1] < 20


def test_time_at_maps_steps_to_wall_time():
    hist = BucketHistory()
    for i in range(10):
        hist.add(i, i * 100, T0 + i)
    assert hist.time_at(450) == T0 + 5 and hist.time_at(10_000) == T0 + 9
    assert BucketHistory().time_at(5) is None


# -- reader ----------------------------------------------------------------------------
def write_run(run_dir, games: list[p.Episode], extra: list[p.Event] = ()) -> None:
    log = RunLog(run_dir)
    log.append(p.Status(p.RUNNING, 0))
    log.append_many(games)
    for event in extra:
        log.append(event)
    log.close()


def test_reader_fast_path_matches_json_line_by_line(tmp_path):
    ys = values(20_000)
    games = [game(i + 1, y) for i, y in enumerate(ys)]
    write_run(tmp_path, games, [p.Checkpoint(p.LATEST, "x", 1)])
    # The JSON path (no index), in many chunks cut mid-line.
    curve = read_curve(tmp_path, capacity=64, chunk=4096, use_index=False)
    expected = BucketHistory(capacity=64)
    for line in (tmp_path / "events.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record["kind"] == "episode":
            expected.add(record["lines"], record["timesteps"], record["time"])
    assert curve.games.buckets == expected.buckets and curve.games.count == 20_000
    assert list(curve.recent) == ys[-100:]


def test_reader_falls_back_to_json_for_other_shapes_and_skips_torn_lines(tmp_path):
    write_run(tmp_path, [game(1, 3), game(2, 5)])
    with open(tmp_path / "events.jsonl", "a") as handle:
        # Another protocol version: same kind, other key order and an extra field.
        other = {"kind": "episode", "time": T0 + 9, "timesteps": 120, "lines": 7, "episode": 3}
        handle.write(json.dumps({**other, "new_field": 1}) + "\n")
        handle.write('{"kind":"episode","lines":"x","timesteps":1,"time":1}\n')  # bad value
        handle.write(json.dumps(game(4, 9).to_json(), separators=(",", ":"))[:60])  # torn
    curve = read_curve(tmp_path, use_index=False)
    assert curve.games.count == 3
    assert [b.mean for b in curve.games] == [3, 5, 7]


def test_reader_reads_evaluations_and_tolerates_a_missing_file(tmp_path):
    assert read_curve(tmp_path / "nowhere").games.count == 0
    evals = [p.Evaluation(timesteps=1000 * i, games=3, lines_mean=i, lines_max=i) for i in (1, 2)]
    write_run(tmp_path, [game(1, 1)], evals)
    curve = read_curve(tmp_path)
    assert [(b.steps1, b.mean) for b in curve.evals] == [(1000, 1), (2000, 2)]


def test_reader_memory_is_one_chunk_not_the_file(tmp_path):
    ys = values(200_000)
    write_run(tmp_path, [game(i + 1, y) for i, y in enumerate(ys)])
    size = (tmp_path / "events.jsonl").stat().st_size
    for use_index in (False, True):
        tracemalloc.start()
        try:
            curve = read_curve(tmp_path, use_index=use_index)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert curve.games.count == 200_000 and len(curve.games) <= 1024
        assert size > 30e6 and peak < 12e6, (use_index, size, peak)


# -- chart -----------------------------------------------------------------------------
def history(n: int = 3000) -> BucketHistory:
    hist = BucketHistory()
    for i, y in enumerate(values(n)):
        hist.add(y, (i + 1) * 40, T0 + i * 2)
    return hist


def text(rows) -> list[str]:
    return ["".join(run for run, _ in row) for row in rows]


@pytest.mark.parametrize("view", [View(), View(TIME, True, 1), View(STEPS, True, 1000)])
@pytest.mark.parametrize("size", [(40, 5), (120, 14), (11, 2)])
def test_chart_rows_are_exactly_the_size_given(view, size):
    width, height = size
    evals = BucketHistory(8)
    evals.add(12.0, 50_000, 0)
    evals.add(20.0, 100_000, 0)
    lines = text(draw(history(), evals, view, width, height))
    assert len(lines) == height and all(len(line) == width for line in lines), lines


def test_chart_axes_follow_the_view():
    hist = history()
    steps = text(draw(hist, BucketHistory(), View(), 60, 10))
    assert steps[-1].endswith("120k steps") and steps[-1].lstrip().startswith("└")
    assert steps[0].strip().startswith("60┤")  # a round top above the highest point
    assert steps[-2].strip().startswith("0┤")
    wall = text(draw(hist, BucketHistory(), View(axis=TIME), 60, 10))
    assert wall[-1].endswith("1:39:58 wall time") and "└0:00" in wall[-1]
    log = text(draw(hist, BucketHistory(), View(log_y=True), 60, 10))
    assert log[0] != steps[0]  # log y: the top is the highest point itself
    assert text(draw(BucketHistory(), BucketHistory(), View(), 30, 4))[2].strip() == "no games yet"


def test_chart_layers_colour_where_they_are():
    hist = BucketHistory()
    for i in range(200):
        hist.add(10 if i % 2 else 0, i, T0 + i)  # points at 0 and 10, EMA near 5
    rows = draw(hist, BucketHistory(), View(window=100), 40, 9)
    names = {name for row in rows for _, name in row}
    assert {"axis", "points", "line"} <= names and "eval" not in names
    middle = [name for row in rows[3:6] for run, name in row if run.strip()]
    assert "line" in middle  # the smoothed line runs between the two rows of points


def test_canvas_dots_and_lines():
    canvas = Canvas(2, 1, layers=2)
    canvas.dot(0, 0, 0)  # bottom left dot of the first cell
    canvas.line(1, [2, 3], [3, 3])  # top row of the second cell
    canvas.dot(0, 99, 99)  # outside: ignored
    assert canvas.rows() == [[("⡀", 0), ("⠉", 1)]]
    assert nice_ceiling(16) == 20 and nice_ceiling(0.3) == 1 and nice_ceiling(1234) == 1500


# -- the index beside events.jsonl -----------------------------------------------------
def both_ways(run_dir) -> tuple:
    """The curve from the index (where valid) and from the JSON alone."""
    indexed, from_json = read_curve(run_dir), read_curve(run_dir, use_index=False)
    assert indexed.games.buckets == from_json.games.buckets
    assert list(indexed.recent) == list(from_json.recent)
    assert [b.mean for b in indexed.evals] == [b.mean for b in from_json.evals]
    return indexed, from_json


def test_runlog_keeps_an_index_that_reads_as_the_json(tmp_path):
    ys = values(5_000)
    log = RunLog(tmp_path)
    for start in range(0, len(ys), 64):  # batches, as the worker sends them
        log.append_many(game(i + 1, ys[i]) for i in range(start, min(start + 64, len(ys))))
        log.append(p.Evaluation(timesteps=start * 40, games=2, lines_mean=start / 100, lines_max=1))
    log.close()
    index = sidecar.valid_index(tmp_path)
    assert index is not None and index.begins_at == 0 and index.games == 5_000
    indexed, _ = both_ways(tmp_path)
    assert indexed.games.count == 5_000 and indexed.evals.count == 79


def test_an_index_that_disagrees_is_not_used_and_the_next_runlog_starts_a_new_one(tmp_path):
    log = RunLog(tmp_path)
    log.append_many([game(1, 1), game(2, 2)])
    log.close()
    with open(tmp_path / "events.jsonl", "a") as handle:  # killed between the two writes
        handle.write(json.dumps(game(3, 3).to_json(), separators=(",", ":")) + "\n")
    assert sidecar.valid_index(tmp_path) is None
    assert [b.mean for b in read_curve(tmp_path).games] == [1, 2, 3]
    log = RunLog(tmp_path)  # the index begins again at the end of the file
    log.append_many([game(4, 4)])
    log.close()
    index = sidecar.valid_index(tmp_path)
    assert index is not None and index.games == 1 and index.begins_at > 0
    indexed, _ = both_ways(tmp_path)
    assert [b.mean for b in indexed.games] == [1, 2, 3, 4]


def test_a_run_recorded_before_the_index_and_a_torn_record(tmp_path):
    with open(tmp_path / "events.jsonl", "w") as handle:  # an older tetris-tui's history
        for i in range(1, 4):
            handle.write(json.dumps(game(i, i).to_json(), separators=(",", ":")) + "\n")
    log = RunLog(tmp_path)
    log.append_many([game(4, 4), game(5, 5)])
    log.close()
    with open(tmp_path / sidecar.CURVE_FILE, "ab") as handle:
        handle.write(b"\x01\x02\x03")  # a kill in the middle of a record
    assert sidecar.valid_index(tmp_path).games == 2  # whole records only
    log = RunLog(tmp_path)  # drops the torn bytes
    log.append_many([game(6, 6)])
    log.close()
    indexed, _ = both_ways(tmp_path)
    assert [b.mean for b in indexed.games] == [1, 2, 3, 4, 5, 6]
    (tmp_path / sidecar.CURVE_FILE).write_bytes(b"garbage")  # damaged: the JSON is read
    assert sidecar.valid_index(tmp_path) is None and read_curve(tmp_path).games.count == 6
