"""``tetris-tui export``: the CSV holds every game and evaluation of events.jsonl; the SVG draws."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from compare_helpers import three_runs

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "tetris_tui", "export"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return three_runs(tmp_path_factory)["a-seed1"]


def recorded(run, kind: str) -> list[dict]:
    lines = (run / "events.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r.get("kind") == kind]


def test_the_csv_has_every_game_and_evaluation(run, tmp_path):
    out = tmp_path / "games.csv"
    result = subprocess.run([*CLI, str(run), "--csv", str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    games, evaluations = recorded(run, "episode"), recorded(run, "evaluation")
    assert len(games) > 100 and len(evaluations) >= 2
    assert result.stdout == (
        f"wrote {out}: {len(games):,} games, {len(evaluations):,} evaluations\n"
    )
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    exported = [r for r in rows if r["kind"] == "episode"]
    assert [
        (int(r["episode"]), int(r["lines"]), int(r["pieces"]), int(r["timesteps"]))
        for r in exported
    ] == [(g["episode"], g["lines"], g["pieces"], g["timesteps"]) for g in games]
    assert [float(r["time"]) for r in exported] == [g["time"] for g in games]
    evals = [r for r in rows if r["kind"] == "evaluation"]
    assert [(int(r["timesteps"]), float(r["lines_mean"])) for r in evals] == [
        (e["timesteps"], e["lines_mean"]) for e in evaluations
    ]
    assert len(rows) == len(games) + len(evaluations)


def test_the_svg_is_the_learning_curve(run, tmp_path):
    out = tmp_path / "curve.svg"
    result = subprocess.run([*CLI, str(run), "--svg", str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    root = ET.parse(out).getroot()
    assert root.tag.endswith("svg")
    text = "".join(root.itertext()).replace("\xa0", " ")
    assert "lines/game" in text and "a-seed1" in text and "steps" in text
    assert any(0x2801 <= ord(ch) < 0x2900 for ch in text)  # the curve's braille dots


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "export needs --csv FILE, --svg FILE or both"),
        (["--csv", "{tmp}"], "{tmp} is a directory; name a file"),
    ],
)
def test_bad_input_is_one_line(run, tmp_path, args, message):
    args = [a.format(tmp=tmp_path) for a in args]
    result = subprocess.run([*CLI, str(run), *args], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr == f"tetris-tui: error: {message.format(tmp=tmp_path)}\n"
