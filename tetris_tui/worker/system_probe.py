"""The trainer's machine figures (CPU, memory, threads, GPUs), measured in the trainer.

A daemon thread samples once a second (psutil for this process, NVML for each
GPU) and keeps only the newest ``System`` event; the callback's control tick
forwards it (``forward``), so the event goes out on the training thread like
every other and the sink needs no lock. The training thread's cost is one
attribute read per tick; the sampling itself takes ~0.2 ms a second with no GPU.
Attached viewers receive the same event, so they show the trainer's figures.
A missing psutil or nvidia-ml-py, or no NVIDIA driver, costs nothing but a note.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Any

from tetris_tui.protocol import Gpu, System

INTERVAL = 1.0  # seconds between samples: the strip's refresh, at most once a second
NO_GPU = "no GPU"


class SystemProbe:
    """Samples in a thread; ``forward`` sends the newest sample, once."""

    def __init__(self, pid: int | None = None, interval: float = INTERVAL) -> None:
        self.pid = pid or os.getpid()
        self.interval = interval
        self._process = _process(self.pid)
        self._nvml: Any = None
        self._gpu_note = NO_GPU
        self._latest: System | None = None
        self._sent: System | None = None
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Begin sampling (the first CPU figure covers the first interval)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="system-probe", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._closed.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        if self._nvml is not None:
            with contextlib.suppress(Exception):
                self._nvml.nvmlShutdown()
            self._nvml = None

    def forward(self, sink: Any) -> None:
        """Send the newest sample if it has not been sent (call from the training thread)."""
        latest = self._latest
        if latest is not None and latest is not self._sent:
            self._sent = latest
            sink.send(latest)

    def _run(self) -> None:
        self._nvml, self._gpu_note = _open_nvml()
        if self._process is not None:
            with contextlib.suppress(Exception):
                self._process.cpu_percent(None)  # the baseline of the first figure
        while not self._closed.wait(self.interval):
            try:
                self._latest = self.sample()
            except Exception:  # noqa: BLE001 - figures are never worth a crashed trainer
                continue

    def sample(self) -> System:
        """One measurement: CPU % since the last one, RSS, threads, and each GPU."""
        cpu = rss = threads = None
        process = self._process
        if process is not None:
            try:
                with process.oneshot():
                    cpu = process.cpu_percent(None)
                    rss = process.memory_info().rss
                    threads = process.num_threads()
            except Exception:  # noqa: BLE001 - psutil.Error, or a process that went away
                cpu = rss = threads = None
        gpus: tuple[Gpu, ...] = ()
        note = self._gpu_note
        if self._nvml is not None:
            try:
                gpus = gpu_figures(self._nvml, self._trainer_pids())
            except Exception as exc:  # noqa: BLE001 - a driver that went away
                gpus, note = (), f"{NO_GPU} ({type(exc).__name__})"
        return System(
            pid=self.pid,
            cpu_percent=None if cpu is None else round(float(cpu), 1),
            rss_bytes=rss,
            threads=threads,
            cores=os.cpu_count() or 0,
            gpus=gpus,
            gpu_note="" if gpus else note,
        )

    def _trainer_pids(self) -> set[int]:
        """The trainer and its children (spectator, env shards): whatever of theirs is on a GPU."""
        pids = {self.pid}
        if self._process is not None:
            with contextlib.suppress(Exception):
                pids.update(child.pid for child in self._process.children(recursive=True))
        return pids


def _process(pid: int) -> Any:
    try:
        import psutil
    except ImportError:
        return None
    try:
        return psutil.Process(pid)
    except Exception:  # noqa: BLE001 - psutil.NoSuchProcess
        return None


def _open_nvml() -> tuple[Any, str]:
    """The initialised pynvml module, or None and the reason there are no GPU figures."""
    try:
        import pynvml
    except ImportError:
        return None, f"{NO_GPU} (nvidia-ml-py not installed)"
    try:
        pynvml.nvmlInit()
    except Exception:  # noqa: BLE001 - NVMLError_LibraryNotFound, DriverNotLoaded, ...
        return None, NO_GPU
    try:
        if pynvml.nvmlDeviceGetCount() > 0:
            return pynvml, ""
    except Exception:  # noqa: BLE001
        pass
    with contextlib.suppress(Exception):
        pynvml.nvmlShutdown()
    return None, NO_GPU


def gpu_figures(nvml: Any, pids: set[int]) -> tuple[Gpu, ...]:
    """Each GPU's utilisation and memory, and what the processes ``pids`` hold of it."""
    gpus = []
    for index in range(nvml.nvmlDeviceGetCount()):
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        name = nvml.nvmlDeviceGetName(handle)
        name = name.decode() if isinstance(name, bytes) else str(name)
        memory = nvml.nvmlDeviceGetMemoryInfo(handle)
        util: float | None = None
        with contextlib.suppress(Exception):
            util = float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu)
        gpus.append(
            Gpu(
                index=index,
                name=name,
                util_percent=util,
                memory_used=int(memory.used),
                memory_total=int(memory.total),
                trainer_memory=_trainer_memory(nvml, handle, pids),
                trainer_util=_trainer_util(nvml, handle, pids),
            )
        )
    return tuple(gpus)


def _trainer_memory(nvml: Any, handle: Any, pids: set[int]) -> int | None:
    try:
        processes = nvml.nvmlDeviceGetComputeRunningProcesses(handle)
    except Exception:  # noqa: BLE001 - not supported on this GPU or driver
        return None
    used = [p.usedGpuMemory for p in processes if p.pid in pids]
    return sum(int(u or 0) for u in used)


def _trainer_util(nvml: Any, handle: Any, pids: set[int]) -> float | None:
    """The trainer's SM share over the last samples; None where NVML does not keep them."""
    try:
        samples = nvml.nvmlDeviceGetProcessUtilization(handle, 0)
    except Exception:  # noqa: BLE001 - NVMLError_NotFound when idle, NotSupported
        return None
    newest: dict[int, tuple[int, float]] = {}  # pid -> (time stamp, SM %) of its last sample
    for sample in samples:
        if sample.pid in pids and sample.timeStamp >= newest.get(sample.pid, (-1, 0.0))[0]:
            newest[sample.pid] = (sample.timeStamp, float(sample.smUtil))
    return sum(util for _, util in newest.values())
