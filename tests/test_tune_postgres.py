"""One study over two "machines": two ``tune`` processes on a real PostgreSQL server.

The server is Debian's ``postgresql`` package, started here by ``initdb`` and
``pg_ctl`` in a temp directory as a non-root user (``nobody`` when we are
root), listening on 127.0.0.1 only. Each ``tune`` has its own study directory
for its trials' run directories, as two machines would.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tetris_tui.tune.spec import TUNE_FILE, read_json
from tetris_tui.tune.storage import load_study, open_storage

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "tetris_tui"]
SPACE = "[learning_rate]\nlow = 1e-3\nhigh = 3e-2\nlog = true\n"
BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    if not BIN or not os.path.exists(os.path.join(BIN[-1], "initdb")):
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    pytest.importorskip("psycopg2", reason="the postgres extra (psycopg2-binary) is missing")
    bin_dir = BIN[-1]
    as_user: list[str] = []
    root = tempfile.mkdtemp(prefix="tetris-pg-")
    os.chmod(root, 0o755)
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv to drop to nobody")
        as_user = ["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups"]
        os.chown(root, _uid("nobody"), -1)
    data, log = os.path.join(root, "data"), os.path.join(root, "server.log")
    port = _free_port()

    def run(*command: str) -> None:
        subprocess.run([*as_user, *command], check=True, capture_output=True, timeout=120)

    run(f"{bin_dir}/initdb", "-D", data, "-U", "tune", "--auth=trust", "-E", "UTF8")
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
    run(f"{bin_dir}/pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "-t", "60", "start")
    try:
        yield f"postgresql://tune@127.0.0.1:{port}/postgres"
    finally:
        with contextlib.suppress(Exception):
            run(f"{bin_dir}/pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def _uid(name: str) -> int:
    import pwd

    return pwd.getpwnam(name).pw_uid


def _tune(study_dir: Path, url: str, space: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            *CLI, "tune", str(study_dir), "--storage", url, "--study", "shared",
            "--workers", "1", "--max-trials", "4", "--steps-per-trial", "2048",
            "--eval-every", "1024", "--space", str(space), "--headless",
            "--trainer-args", "--n-envs 64 --batch-size 256",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def _best_line(output: str) -> str:
    found = re.search(r"best trial (\d+): ([0-9.]+) lines/game", output)
    assert found, output
    return found.group(0)


def test_two_machines_share_one_study_without_duplicates(tmp_path: Path, postgres_url: str):
    space = tmp_path / "space.toml"
    space.write_text(SPACE)
    dirs = [tmp_path / "machine-a", tmp_path / "machine-b"]
    machines = [_tune(d, postgres_url, space) for d in dirs]
    outputs = []
    for process in machines:
        out, err = process.communicate(timeout=900)
        assert process.returncode == 0, err
        outputs.append(out)
    study = load_study(open_storage(postgres_url, tmp_path), "shared")
    trials = study.get_trials()
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers))
    finished = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]
    # Each machine stops asking at the total; two may ask at the same instant.
    assert 4 <= len(finished) <= 5 and len(finished) == len(trials)
    # Every trial ran on exactly one machine, in that machine's study directory.
    where = {}
    for directory in dirs:
        for record in directory.glob(f"trial-*/{TUNE_FILE}"):
            data = read_json(record)
            assert data["study"] == "shared" and data["storage"] == postgres_url
            assert data["trial"] not in where, "a trial ran twice"
            where[data["trial"]] = directory
    assert sorted(where) == sorted(numbers)
    assert set(where.values()) == set(dirs), "both machines ran trials"
    # The same command again, on each machine: nothing left to run, the same best.
    again = []
    for directory in dirs:
        process = _tune(directory, postgres_url, space)
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        again.append(_best_line(out))
    assert again[0] == again[1]
    best = max((t for t in trials if t.value is not None), key=lambda t: t.value)
    assert again[0] == f"best trial {best.number}: {best.value:.2f} lines/game"
    assert len(load_study(open_storage(postgres_url, tmp_path), "shared").trials) == len(trials)
