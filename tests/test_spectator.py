"""The spectator's parts: greedy games and their records, replays, animation, the feed."""

from __future__ import annotations

import json
import multiprocessing
import os
import time

import numpy as np
import pytest
from spectator_helpers import heuristic

from tetris_tui import protocol as p
from tetris_tui.config import EnvConfig
from tetris_tui.replay import (
    EMPTY_BOARD,
    ReplayError,
    clear_rows,
    final_state,
    load_replay,
    lock,
    replay_events,
    replay_path,
)
from tetris_tui.ui.animation import PlacementAnimation
from tetris_tui.ui.spectator_feed import SpectatorFeed, step_pace
from tetris_tui.worker.best_replay import BestReplay
from tetris_tui.worker.greedy_game import GreedyGame, record_game


@pytest.fixture(scope="module")
def recorded():
    """One whole heuristic game of 300 pieces at most, seed 5."""
    return record_game(heuristic, EnvConfig(), seed=5, max_pieces=300)


def engine_board(env) -> bytes:
    engine = env.unwrapped
    return np.ascontiguousarray(engine.crop_padding(engine.board), dtype=np.uint8).tobytes()


def test_a_recorded_game_replays_exactly_in_the_engine_and_without_it(recorded, tmp_path):
    from tetris_tui.envs import make_env

    assert recorded.lines >= 10 and recorded.pieces > 30
    best = BestReplay(tmp_path)
    assert best.offer(recorded)
    game = load_replay(replay_path("best", tmp_path))  # checks placements -> final board
    assert game.lines == recorded.lines and game.final_board == recorded.final_board
    # Without the env: the placements alone end on the engine's final board and lines.
    assert final_state(game.placements) == (recorded.final_board, recorded.lines)
    # In the engine: the seed and the actions give the same game again.
    env = make_env(EnvConfig(**game.env))
    env.reset(seed=game.seed)
    lines = 0
    for action in game.actions:
        _, _, terminated, truncated, info = env.step(action)
        lines += info["lines_cleared"]
    assert terminated or truncated
    assert lines == game.lines and engine_board(env) == game.final_board
    # The board's replay events end on that board too.
    events = list(replay_events(game, pace=5.0))
    last = PlacementAnimation(events[-1], 0.0)
    assert last.after == game.final_board and events[-1].lines == game.lines
    assert [e.pieces for e in events] == list(range(1, game.pieces + 1))


def test_best_replay_keeps_the_better_game_and_writes_atomically(recorded, tmp_path):
    best = BestReplay(tmp_path)
    assert best.offer(recorded)
    worse = record_game(heuristic, EnvConfig(), seed=6, max_pieces=20)
    assert worse.lines < recorded.lines and not best.offer(worse)
    # Another writer (a second BestReplay) sees the file and does not replace it.
    assert not BestReplay(tmp_path).offer(worse)
    assert json.loads(best.path.read_text())["lines"] == recorded.lines
    assert [f.name for f in best.path.parent.iterdir()] == ["best.json"]  # no temp left


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "no such replay"),
        ("{not json", "cannot be read"),
        ('{"version": 1, "placements": [[2, 0, 4, 0, [0, 99]]]}', "damaged"),
        ('{"version": 7}', "damaged"),
    ],
)
def test_a_missing_or_damaged_replay_is_one_line(tmp_path, content, words):
    path = tmp_path / "r.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ReplayError) as info:
        load_replay(path)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_a_replay_whose_board_was_edited_is_refused(recorded, tmp_path):
    data = recorded.to_json()
    data["final_board"] = bytes(200).hex()
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ReplayError, match="do not end on its final board"):
        load_replay(path)


def test_lock_and_clear_follow_the_engine_rule():
    board = bytearray(EMPTY_BOARD)
    board[190:199] = b"\x02" * 9  # bottom row but one cell
    locked, full = lock(bytes(board), (18, 9, 19, 9, 17, 9, 16, 9), 7)
    assert full == (19,)
    after = clear_rows(locked, full)
    assert after[199] == 7 and after[189] == 7 and after[169] == 0 and sum(after[190:199]) == 0


def test_the_game_streams_placements_with_the_board_before_each(recorded):
    game = GreedyGame(EnvConfig(), seed=5, max_pieces=300)
    game.new_game(1234, seed=5)
    board = EMPTY_BOARD
    events = []
    while game.finished is None:
        event = game.step(heuristic, pace=3.0)
        if event is not None:
            assert event.board == board  # what the UI draws under the falling piece
            board = PlacementAnimation(event, 0.0).after
            events.append(event)
    game.close()
    assert game.finished.final_board == board == recorded.final_board
    assert events[-1].lines == recorded.lines and events[0].policy_timesteps == 1234
    assert all(e.pace == 3.0 and e.game == 1 for e in events)


def _event(**changes):
    base = dict(game=1, piece=2, rotation=1, column=0, row=16, cells=(16, 0, 17, 0, 18, 0, 19, 0))
    base.update(changes)
    return p.SpectatorPlacement(board=EMPTY_BOARD, **base)


def test_a_placement_turns_slides_and_drops_then_lights_its_cells():
    anim = PlacementAnimation(_event(), duration=1.0)
    tops, shapes, lefts = [], set(), []
    for i in range(100):
        falling = anim.falling_at(i / 100)
        if falling is None:
            break
        top, left, shape = falling
        tops.append(top)
        lefts.append(left)
        shapes.add(shape)
    assert len(shapes) == 2  # spawn rotation (flat I), then the landed one (upright)
    assert tops[0] == 0 and tops[-1] >= 15 and tops == sorted(tops)
    assert len(set(tops)) >= 10  # it falls row by row, not teleported
    assert lefts[0] > 0 and lefts[-1] == 0  # it slid to the wall
    cells, marks = anim.frame_at(0.99)
    assert cells == anim.after and marks is not None and sum(marks) == 4


def test_cleared_lines_flash_before_they_vanish():
    board = bytearray(EMPTY_BOARD)
    board[191:200] = b"\x03" * 9
    event = p.SpectatorPlacement(
        game=1, piece=2, rotation=1, column=0, row=16, cells=(16, 0, 17, 0, 18, 0, 19, 0),
        board=bytes(board), lines_cleared=1, lines=1,
    )  # fmt: skip
    anim = PlacementAnimation(event, duration=1.0)
    flashes = [anim.frame_at(t / 100) for t in range(80, 100)]
    lit = [f for f in flashes if f[1] is not None and sum(f[1][190:200]) == 10]
    dark = [f for f in flashes if f[1] is None and not any(f[0][190:200])]
    assert lit and dark  # the full row blinks
    assert anim.frame_at(1.0)[0] == anim.after and anim.after[190:200] == b"\x02" + b"\x00" * 9


def test_the_feed_keeps_pace_and_skips_ahead_when_behind():
    feed = SpectatorFeed(pace=2.0)
    feed.add(_event(pieces=1))
    assert feed.tick(0.0) is not None and feed.placements_shown == 1
    feed.add(_event(pieces=2))
    feed.tick(0.3)
    assert feed.placements_shown == 1  # the first placement still has 0.2 s
    feed.tick(0.51)
    assert feed.placements_shown == 2
    for n in range(3, 10):
        feed.add(_event(pieces=n))
    feed.tick(0.6)  # far behind: straight to the newest
    assert feed.shown.pieces == 9 and not feed.pending


def test_a_replay_at_the_instant_pace_ends_on_the_recorded_board(recorded):
    feed = SpectatorFeed(pace=p.INSTANT)
    feed.start_replay(replay_events(recorded, pace=p.INSTANT))
    feed.add(_event())  # live placements are ignored during a replay
    now, frame = 0.0, None
    while feed.replay is not None:
        now += 0.05
        frame = feed.tick(now) or frame
    assert frame.cells == recorded.final_board and frame.lines == recorded.lines
    feed.stop_replay()
    feed.add(_event())
    assert feed.pending


def test_the_pace_ladder_runs_from_one_a_second_to_instant():
    pace, seen = 1.0, [1.0]
    while (pace := step_pace(pace, faster=True)) != seen[-1]:
        seen.append(pace)
    assert seen == [1.0, 2.0, 5.0, 10.0, 20.0, 60.0, p.INSTANT]
    assert step_pace(1.0, faster=False) == 1.0 and step_pace(7.0, faster=True) == 10.0


def test_shared_weights_reach_another_module():
    import torch

    from tetris_tui.worker.shared_weights import SharedWeights

    torch.manual_seed(0)
    source, target = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
    weights = SharedWeights.for_policy(multiprocessing.get_context("spawn"), source)
    assert weights.load_into(target, 0) is None  # nothing published yet
    weights.publish(source, 812_004)
    version = weights.load_into(target, 0)
    assert version and weights.timesteps.value == 812_004
    assert torch.equal(source.weight, target.weight) and torch.equal(source.bias, target.bias)
    assert weights.load_into(target, version) is None  # nothing newer


def test_the_spectator_process_plays_and_stops_with_its_handle(tmp_path):
    """A real spectator process: placements and games arrive; close() leaves nothing."""
    from conftest import small_config

    from tetris_tui.proctree import pid_alive
    from tetris_tui.worker.model_factory import build_vec_env, new_model
    from tetris_tui.worker.spectator import Spectator

    config = small_config(tmp_path, env=EnvConfig(kind="placement"), pace=p.INSTANT)
    model = new_model(config, build_vec_env(config))
    spectator = Spectator(config, model.policy)

    class Sink:
        def __init__(self):
            self.got = []

        def send(self, event):
            self.got.append(event)

    sink = Sink()
    try:
        spectator.publish(model.policy, 4096)
        deadline = time.monotonic() + 60
        while len(sink.got) < 30 and time.monotonic() < deadline:
            spectator.forward(sink)  # as the worker's callback does every 20 ms
            time.sleep(0.02)
        got = sink.got
    finally:
        spectator.close()
    assert not pid_alive(spectator.process.pid)
    placements = [e for e in got if isinstance(e, p.SpectatorPlacement)]
    assert placements and all(e.policy_timesteps == 4096 for e in placements)
    assert any(isinstance(e, p.SpectatorGame) for e in got)  # random-ish games are short
    assert os.getpid() != spectator.process.pid


def test_the_fast_greedy_action_is_sb3s_deterministic_action():
    from tetris_tui.config import Config
    from tetris_tui.worker.greedy_game import policy_predictor
    from tetris_tui.worker.model_factory import build_vec_env, new_model

    config = Config(n_envs=1, seed=3, device="cpu")
    import torch

    model = new_model(config, build_vec_env(config))
    torch.manual_seed(0)
    for parameter in model.policy.mlp_extractor.scorer.parameters():
        torch.nn.init.normal_(parameter)  # the zero init would make every action tie
    game = GreedyGame(EnvConfig(), seed=2, max_pieces=60)
    game.new_game(0, seed=2)
    fast = policy_predictor(model.policy)
    actions = set()
    while game.finished is None:
        sb3, _ = model.policy.predict(game.obs, deterministic=True)
        assert fast(game.obs) == int(sb3)
        actions.add(int(sb3))
        game.step(heuristic)  # long games: many boards to compare on
    assert len(actions) > 5


def test_env_frames_stand_in_until_the_spectator_places():
    """Unit: the worker sends env 0's board while the spectator has not played yet."""
    from types import SimpleNamespace

    from tetris_tui.config import Config
    from tetris_tui.worker.board_frames import BoardFrames

    frames = BoardFrames(Config(env=EnvConfig(kind="placement")))
    spectator = SimpleNamespace(placing=False)
    assert not frames.watch  # the spectator's view asks for no env frames...
    assert frames.wanted(spectator)  # ...but they fill in until it places a piece
    spectator.placing = True
    assert not frames.wanted(spectator)
    frames.set_view(p.VIEW_ENV)
    assert frames.wanted(spectator)
    frames.set_view(p.VIEW_OFF)
    spectator.placing = False
    assert not frames.wanted(spectator)
    raw = BoardFrames(Config(env=EnvConfig(kind="raw")))
    assert raw.wanted(None)  # no spectator for the raw env: always env 0
