"""The system strip: the trainer's CPU, memory, threads and GPUs, as measured in the trainer."""

from __future__ import annotations

import os
import sys
import time
import types
from pathlib import Path

import psutil
import pytest
from ui_helpers import WidgetHost, real_config, screen_text

from tetris_tui import protocol as p
from tetris_tui.session.attached import AttachedSession
from tetris_tui.ui.app import TetrisApp
from tetris_tui.ui.widgets.system import NO_TRAINER, SystemStrip, fmt_bytes
from tetris_tui.worker import system_probe
from tetris_tui.worker.system_probe import SystemProbe

GIB = 1 << 30
NO_NVIDIA = not Path("/dev/nvidia0").exists()


def two_gpus() -> p.System:
    gpus = (
        p.Gpu(0, "NVIDIA H100", 45.0, 3 * GIB, 80 * GIB, trainer_memory=GIB, trainer_util=12.0),
        p.Gpu(1, "NVIDIA H100", 0.0, 1 << 20, 80 * GIB),
    )
    return p.System(pid=7, cpu_percent=97.4, rss_bytes=812 << 20, threads=14, cores=2, gpus=gpus)


async def test_the_strip_draws_the_figures_it_is_given_and_shortens_to_fit():
    strip = SystemStrip()
    async with WidgetHost(strip).run_test(size=(140, 3)) as pilot:
        assert screen_text(pilot.app).splitlines()[0].strip() == NO_TRAINER
        strip.show(p.System(pid=7, cpu_percent=97.4, rss_bytes=812 << 20, threads=14))
        await pilot.pause()
        line = screen_text(pilot.app).splitlines()[0]
        assert "trainer cpu 97%" in line and "rss 812M" in line and "threads 14" in line
        assert "no GPU" in line
        strip.show(two_gpus())
        await pilot.pause()
        line = screen_text(pilot.app).splitlines()[0]
        assert "GPU0 NVIDIA H100 45% 3.0G/80G trainer 1.0G 12%" in line
        assert "GPU1 NVIDIA H100 0% 1.0M/80G" in line
    # 80 columns: short labels, and the GPUs that do not fit are counted, not cut.
    line = strip.line_text_for(80).plain
    assert len(line) <= 80 and line.startswith("cpu 97% mem 812M thr 14 │ gpu0 45%")
    assert "gpu1 0%" in line
    assert strip.line_text_for(50).plain == "trainer cpu 97% rss 812M threads 14 │ +2 GPU"


def test_bytes_read_as_top_counts_them():
    assert [fmt_bytes(v) for v in (None, 512, 2048, 812 << 20, 3 * GIB, 80 * GIB)] == [
        "–",
        "512B",
        "2.0K",
        "812M",
        "3.0G",
        "80G",
    ]


class FakeNvml(types.ModuleType):
    """pynvml's calls as the probe makes them, for one GPU holding two processes."""

    def __init__(self, pid: int, fail_init: bool = False) -> None:
        super().__init__("pynvml")
        self.pid, self.fail_init, self.shut = pid, fail_init, False

    def nvmlInit(self):  # noqa: N802 - pynvml's names
        if self.fail_init:
            raise RuntimeError("NVML Shared Library Not Found")

    def nvmlShutdown(self):  # noqa: N802
        self.shut = True

    def nvmlDeviceGetCount(self):  # noqa: N802
        return 1

    def nvmlDeviceGetHandleByIndex(self, index):  # noqa: N802
        return index

    def nvmlDeviceGetName(self, handle):  # noqa: N802
        return b"NVIDIA H200"

    def nvmlDeviceGetMemoryInfo(self, handle):  # noqa: N802
        return types.SimpleNamespace(used=5 * GIB, total=140 * GIB)

    def nvmlDeviceGetUtilizationRates(self, handle):  # noqa: N802
        return types.SimpleNamespace(gpu=61)

    def nvmlDeviceGetComputeRunningProcesses(self, handle):  # noqa: N802
        ours = types.SimpleNamespace(pid=self.pid, usedGpuMemory=2 * GIB)
        theirs = types.SimpleNamespace(pid=1, usedGpuMemory=3 * GIB)
        return [ours, theirs]

    def nvmlDeviceGetProcessUtilization(self, handle, since):  # noqa: N802
        sample = types.SimpleNamespace
        return [
            sample(pid=self.pid, timeStamp=1, smUtil=10),
            sample(pid=self.pid, timeStamp=2, smUtil=40),
        ]


def test_the_probe_reads_each_gpu_and_the_trainers_share_through_nvml(monkeypatch):
    fake = FakeNvml(os.getpid())
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    probe = SystemProbe()
    probe._nvml, probe._gpu_note = system_probe._open_nvml()
    event = probe.sample()
    assert event.gpus == (
        p.Gpu(
            0, "NVIDIA H200", 61.0, 5 * GIB, 140 * GIB, trainer_memory=2 * GIB, trainer_util=40.0
        ),
    )
    assert event.gpu_note == "" and event.pid == os.getpid() and event.threads >= 1
    probe.close()
    assert fake.shut


def test_no_driver_or_no_library_says_no_gpu(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml(os.getpid(), fail_init=True))
    assert system_probe._open_nvml() == (None, "no GPU")
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml raises ImportError
    assert system_probe._open_nvml() == (None, "no GPU (nvidia-ml-py not installed)")


def test_the_probe_sends_each_sample_once_from_the_training_thread():
    sent: list[p.Event] = []
    sink = types.SimpleNamespace(send=sent.append)
    probe = SystemProbe(interval=0.05)
    probe.start()
    try:
        deadline = time.monotonic() + 10
        while len(sent) < 3 and time.monotonic() < deadline:
            probe.forward(sink)
            time.sleep(0.01)
    finally:
        probe.close()
    assert len(sent) >= 3 and len({id(event) for event in sent}) == len(sent)
    assert all(isinstance(event, p.System) for event in sent)


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


@pytest.mark.slow
async def test_the_strip_shows_the_real_trainers_figures_and_viewers_see_the_same(tmp_path):
    """psutil in this test, on the trainer's pid, agrees with the strip; a viewer sees them too."""
    run_dir = tmp_path / "run"
    app = TetrisApp(real_config(run_dir, total_timesteps=10_000_000))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("s")
        strip = app.main.system_strip
        deadline = time.monotonic() + 90
        while strip.event is None and time.monotonic() < deadline:
            await pilot.pause(0.1)
        assert strip.event is not None, "no System event within 90 s"
        pid = strip.event.pid
        assert pid != os.getpid() and psutil.Process(pid).ppid() == os.getpid()
        # CPU over several samples, against psutil's CPU time for the same seconds.
        first, used0, start = strip.event, cpu_seconds(pid), time.monotonic()
        seen = [first]
        while time.monotonic() - start < 4.0 or len(seen) < 4:
            await pilot.pause(0.05)
            if strip.event is not seen[-1]:
                seen.append(strip.event)
            assert time.monotonic() - start < 60, "System events stopped coming"
        ours = (cpu_seconds(pid) - used0) / (time.monotonic() - start) * 100
        theirs = sum(e.cpu_percent for e in seen[1:]) / len(seen[1:])
        assert abs(theirs - ours) < 25, (theirs, ours)
        assert 1 <= len(seen) - 1 <= time.monotonic() - start + 1  # at most one a second
        event, process = strip.event, psutil.Process(pid)
        assert abs(event.rss_bytes - process.memory_info().rss) < 0.15 * event.rss_bytes
        assert abs(event.threads - process.num_threads()) <= 3
        text = screen_text(app)
        assert f"threads {event.threads}" in text or f"thr {event.threads}" in text
        if NO_NVIDIA:
            assert event.gpus == () and "no GPU" in text

        # An attached viewer gets the trainer's figures, not its own.
        viewer = AttachedSession(run_dir, read_only=True)
        try:
            viewer.attach()
            deadline, figures = time.monotonic() + 30, []
            while not figures and time.monotonic() < deadline:
                figures = [e for e in viewer.drain(max_items=10_000) if isinstance(e, p.System)]
                await pilot.pause(0.1)
            assert figures and figures[-1].pid == pid
        finally:
            viewer.detach()
        await pilot.press("x")
        deadline = time.monotonic() + 60
        while app.session.alive and time.monotonic() < deadline:
            await pilot.pause(0.1)
        assert not app.session.alive
        assert "no trainer" in screen_text(app)
