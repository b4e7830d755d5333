"""Shared fixtures and helpers: the workspaces written by the real Contexta library (tests/workspaces/generate.py),
the example gate's recorded reports, and runs read and helpers called as a gate session would, without one."""

from __future__ import annotations

import fnmatch
import hashlib
import shutil
import stat
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

# Import these once for the whole session: in-process pytester runs unload modules first imported
# inside them, and importing duckdb a second time in one process aborts it; hypothesis' plugin
# re-imports its modules on every inner run otherwise; scipy's compiled modules cannot load twice either.
import hypothesis  # noqa: F401
import matplotlib.backends.backend_svg  # noqa: F401  (numpy, under matplotlib, cannot be imported twice either)
import matplotlib.figure  # noqa: F401
import pytest
import scipy.special  # noqa: F401

import pytest_contexta.outputs.html_report  # noqa: F401
import pytest_contexta.plugin.controller  # noqa: F401
from pytest_contexta.checks.asserts import GateCheckFailed
from pytest_contexta.checks.results import CheckContext, CheckResult, recording
from pytest_contexta.errors import GateError
from pytest_contexta.reading.segments import RecordReader
from pytest_contexta.runs.models import ContextaRun
from pytest_contexta.runs.workspace import Workspace
from pytest_contexta.verdict.report import VERDICT_PRECEDENCE, GateReport

TESTS = Path(__file__).parent
WORKSPACES = TESTS / "workspaces"
REFERENCES = WORKSPACES / "references"
EXAMPLE_GATES = TESTS.parent / "example_gates"
EXAMPLE_WORKSPACE = EXAMPLE_GATES / ".contexta"
#: The example gate's outputs recorded by tests/outputs/test_recorded_outputs.py (which keeps them true).
RECORDED = TESTS / "outputs" / "recorded"
#: Installed plugins inner pytest runs do not need: hypothesis' plugin costs each run seconds of imports,
#: and pytest-benchmark warns when xdist is active.
LEAN_INNER_RUNS = "-p no:hypothesispytest -p no:benchmark"
#: The terminal width of inner runs: the verdict block wraps to the terminal, and most tests match whole lines
#: (tests of the wrapping set COLUMNS themselves).
WIDE_TERMINAL = "2000"


def snapshot_tree(root: Path) -> dict[str, str]:
    """Every path under ``root`` (folders too) with its mode and, for a file, the sha256 of its bytes."""
    tree: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        mode = stat.filemode(path.lstat().st_mode)
        tree[str(path.relative_to(root))] = mode + (
            " " + hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        )
    return tree


def recorded_report(session: str) -> GateReport:
    """The example gate's JSON report of one recorded session (a run name such as
    ``product-ranker.candidate-v2-good``, or ``three-candidates``), paths masked as ``<example>``."""
    return GateReport.model_validate_json((RECORDED / f"{session}.json").read_text(encoding="utf-8"))


def example_report(*candidates: str) -> GateReport:
    """The example gate's report on these candidates (refs), put together from their recorded sessions: the worst
    one's report, holding every candidate's entry in the order given."""
    reports = [recorded_report(candidate.removeprefix("run:")) for candidate in candidates]
    worst = min(reports, key=lambda report: VERDICT_PRECEDENCE.index(report.verdict))
    return worst.model_copy(update={"candidates": [entry for report in reports for entry in report.candidates]})


def read_like_a_gate(workspace: Path, *refs: str) -> list[ContextaRun]:
    """The runs, read as a gate session reads them: their records found in one pass over the segments."""
    opened = Workspace(workspace, lock_timeout=0)
    loaded = opened.load_runs(refs)
    runs = []
    for ref in refs:
        found = loaded[ref] if ref in loaded else opened.load_run(ref)
        if isinstance(found, GateError):
            raise found
        runs.append(found)
    return runs


def run_checks(
    checks: Iterable[Callable[[], object]], context: CheckContext | None = None
) -> tuple[list[CheckResult], list[str]]:
    """Call each check as a gate file's test calls its helpers: the results they record, and the message of each
    check that failed (what pytest shows under its failure). Any other exception propagates."""
    messages = []
    with recording(context or CheckContext()) as recorded:
        for check in checks:
            try:
                check()
            except GateCheckFailed as failed:
                messages.append(str(failed))
    return recorded.results, messages


def unmatched(lines: Iterable[str], patterns: Iterable[str]) -> list[str]:
    """The fnmatch patterns no line matches (as pytest's ``fnmatch_lines_random`` would complain of)."""
    lines = list(lines)
    return [pattern for pattern in patterns if not fnmatch.filter(lines, pattern)]


@pytest.fixture
def workspace_copy(tmp_path: Path) -> Callable[[str], Path]:
    """Copy a committed workspace (``conformance``, ``latency``, ``deployments``, ``empty`` or ``example``)
    into ``tmp_path`` so a test may damage it."""

    def copy(name: str) -> Path:
        source = EXAMPLE_WORKSPACE if name == "example" else WORKSPACES / name
        target = tmp_path / f"{name}-workspace"
        shutil.copytree(source, target)
        return target

    return copy


@pytest.fixture
def results() -> Iterator[list[CheckResult]]:
    """The structured results the assertion helpers record, as in a gate session."""
    with recording(CheckContext()) as context:
        yield context.results


@pytest.fixture
def frozen_today(monkeypatch: pytest.MonkeyPatch) -> date:
    """Waivers judged on a day years ahead (tests/frozen_clock.py), in this process and its in-process runs."""
    from frozen_clock import FUTURE_TODAY, freeze

    freeze(FUTURE_TODAY, monkeypatch)
    return FUTURE_TODAY


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the caller's CONTEXTA_* and GITHUB_STEP_SUMMARY out of the gates the tests run, keep inner pytest
    runs lean (hypothesis' and pytest-benchmark's plugins only slow them down) and their terminal wide."""
    import os

    for name in list(os.environ):
        if name.startswith("CONTEXTA_") or name == "GITHUB_STEP_SUMMARY":
            monkeypatch.delenv(name)
    monkeypatch.setenv("PYTEST_ADDOPTS", LEAN_INNER_RUNS)
    monkeypatch.setenv("COLUMNS", WIDE_TERMINAL)


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """pytester with lean inner runs: setting pytester up discards PYTEST_ADDOPTS, so it is set again here."""
    monkeypatch.setenv("PYTEST_ADDOPTS", LEAN_INNER_RUNS)
    return pytester


@pytest.fixture
def reader_passes(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The runs of each pass the reader makes over the segments (``RecordReader.read_runs``), in the order asked."""
    passes: list[list[str]] = []
    read_runs = RecordReader.read_runs

    def counted(reader: RecordReader, runs: list[Any]) -> Any:
        passes.append([run.text for run in runs])
        return read_runs(reader, runs)

    monkeypatch.setattr(RecordReader, "read_runs", counted)
    return passes
