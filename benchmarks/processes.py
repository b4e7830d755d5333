"""Running the measured commands: fresh processes, wall time, CPU time and peak memory, and their medians."""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: Every measured command runs from this empty folder: ``python -m pytest`` and ``python -c`` put their
#: working directory first on ``sys.path``, so run from a checkout they would import that checkout's
#: ``pytest_contexta`` instead of the one installed in the Python being measured.
NEUTRAL_CWD = REPO / "benchmarks" / ".cache" / "cwd"


class BenchmarkError(Exception):
    """Something the benchmark needs is missing or broken; the message says what and how to fix it."""


@dataclass
class Sample:
    seconds: float
    max_rss_mb: float
    cpu_seconds: float = 0.0
    #: The largest ``RssAnon`` seen (sampled every 20 ms, the main process only): private memory, without
    #: the file pages that max RSS also counts when a file is memory-mapped and read.
    max_anon_mb: float = 0.0


class _AnonymousMemory(threading.Thread):
    """Samples ``RssAnon`` of one process from ``/proc`` until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.path = Path(f"/proc/{pid}/status")
        self.stopped = threading.Event()
        self.peak_kb = 0

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                for line in self.path.read_text().splitlines():
                    if line.startswith("RssAnon:"):
                        self.peak_kb = max(self.peak_kb, int(line.split()[1]))
            except (OSError, ValueError, IndexError):
                pass
            self.stopped.wait(0.02)


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str
    sample: Sample


def run_process(
    command: list[str], *, cwd: Path = NEUTRAL_CWD, env: dict[str, str] | None = None, timeout: float | None = None
) -> Finished:
    """Run ``command`` to completion: wall time, CPU time and max RSS from ``wait4``.

    On Linux ``wait4`` reports the process together with every descendant it waited for (pytest-xdist's
    workers included): CPU time is their sum, max RSS the largest single process among them.
    """
    cwd.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=cwd, env=env or clean_env(), stdout=out, stderr=err, stdin=subprocess.DEVNULL
        )
        anonymous = _AnonymousMemory(process.pid)
        anonymous.start()
        if timeout is None:
            _, status, usage = os.wait4(process.pid, 0)
        else:
            deadline = started + timeout
            while True:
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() > deadline:
                    process.kill()
                    os.wait4(process.pid, 0)
                    anonymous.stopped.set()
                    raise BenchmarkError(f"{' '.join(command)} did not finish within {timeout:.0f} s")
                time.sleep(0.05)
        seconds = time.perf_counter() - started
        anonymous.stopped.set()
        anonymous.join()
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Finished(
            process.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
            Sample(seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, anonymous.peak_kb / 1024),
        )


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that would steer pytest or the plugin from outside."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CONTEXTA_", "PYTEST_", "BENCH_"))
        and key not in ("GITHUB_STEP_SUMMARY", "PYTHONDONTWRITEBYTECODE")
    }
    env.update(extra)
    return env


def checked(finished: Finished, what: str, expected: int = 0) -> Finished:
    if finished.returncode != expected:
        tail = "\n".join((finished.stdout + finished.stderr).strip().splitlines()[-25:])
        raise BenchmarkError(f"{what} exited with {finished.returncode} (expected {expected}):\n{tail}")
    return finished


def last_json_line(finished: Finished, what: str) -> dict:
    import json

    lines = finished.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError):
        raise BenchmarkError(f"{what} printed no JSON answer:\n{(finished.stdout + finished.stderr)[-1500:]}")


@dataclass
class Series:
    samples: list[Sample] = field(default_factory=list)

    def add(self, finished: Finished, what: str, expected: int = 0) -> None:
        self.samples.append(checked(finished, what, expected).sample)

    @property
    def median(self) -> float:
        return statistics.median(sample.seconds for sample in self.samples)

    @property
    def cpu(self) -> float:
        return statistics.median(sample.cpu_seconds for sample in self.samples)

    @property
    def max_rss(self) -> float:
        return max(sample.max_rss_mb for sample in self.samples)

    @property
    def max_anon(self) -> float:
        return max(sample.max_anon_mb for sample in self.samples)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"
