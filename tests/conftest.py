"""Shared fixtures: the workspaces written by the real Contexta library (tests/workspaces/generate.py)."""

from __future__ import annotations

import hashlib
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

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
from pytest_contexta.checks.results import CheckContext, CheckResult, recording

TESTS = Path(__file__).parent
WORKSPACES = TESTS / "workspaces"
REFERENCES = WORKSPACES / "references"
EXAMPLE_GATES = TESTS.parent / "example_gates"
EXAMPLE_WORKSPACE = EXAMPLE_GATES / ".contexta"
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
