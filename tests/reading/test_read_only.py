"""The gate never changes a workspace: every path and every file's bytes are the same after a full run."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import snapshot_tree

pytestmark = pytest.mark.slow  # whole gate sessions, their files compared before and after

SEGMENT = Path("records") / "segments" / "segment-000001.jsonl"
GATE = """
import pytest
from pytest_contexta import assert_metrics_present, assert_no_error_diagnostics, assert_no_regression

METRICS = ["accuracy", "latency-p95-ms", "error-count"]

def test_diagnostics(contexta_run):
    assert_no_error_diagnostics(contexta_run)

@pytest.mark.parametrize("metric", METRICS)
def test_no_regression(contexta_run, baseline_run, metric):
    assert_no_regression(contexta_run, baseline_run, metric, stage="evaluate")

def test_other_runs(contexta_workspace):
    assert len(contexta_workspace.list_runs("svc")) == 4
"""


def _damage_candidate(workspace: Path) -> None:
    """Cut the candidate's accuracy line in half (line 6 of the latency segment)."""
    lines = (workspace / SEGMENT).read_bytes().splitlines(keepends=True)
    lines[5] = lines[5][: len(lines[5]) // 2] + b"\n"
    (workspace / SEGMENT).write_bytes(b"".join(lines))


RUNS = {
    "passing": ("run:svc.faster", None, pytest.ExitCode.OK),
    "failing": ("run:svc.slower", None, pytest.ExitCode.TESTS_FAILED),
    "damaged": ("run:svc.faster", _damage_candidate, pytest.ExitCode.TESTS_FAILED),
    "unknown-run": ("run:svc.nope", None, pytest.ExitCode.USAGE_ERROR),
}


@pytest.mark.parametrize(("candidate", "damage", "exit_code"), RUNS.values(), ids=RUNS.keys())
def test_full_gate_run_changes_nothing(
    pytester: pytest.Pytester,
    workspace_copy: Callable[[str], Path],
    candidate: str,
    damage: Callable[[Path], None] | None,
    exit_code: pytest.ExitCode,
) -> None:
    workspace = workspace_copy("latency")
    if damage is not None:
        damage(workspace)
    pytester.makepyfile(test_gate=GATE)
    before = snapshot_tree(workspace)
    result = pytester.runpytest(
        f"--contexta-workspace={workspace}",
        f"--contexta-candidate={candidate}",
        f"--contexta-report={pytester.path / 'gate.json'}",
        f"--contexta-markdown={pytester.path / 'gate.md'}",
    )
    assert result.ret == exit_code
    assert snapshot_tree(workspace) == before
    assert len(before) > 10  # the comparison covered the whole workspace, folders included


@pytest.fixture
def read_only_workspace(workspace_copy: Callable[[str], Path]) -> Iterator[Path]:
    """A workspace copy without write permission on any file or folder (restored afterwards for cleanup)."""
    workspace = workspace_copy("latency")
    paths = [workspace, *workspace.rglob("*")]
    for path in reversed(paths):
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        yield workspace
    finally:
        for path in paths:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


def test_gate_runs_on_a_workspace_without_write_permission(
    pytester: pytest.Pytester, read_only_workspace: Path
) -> None:
    """Without root, any write attempt would fail here; root ignores permission bits, so for root this only
    shows that the gate needs no write permission. The hashes above are the proof that nothing is written."""
    before = snapshot_tree(read_only_workspace)
    assert all("w" not in mode.split()[0] for mode in before.values())
    if os.name == "posix" and os.geteuid() != 0:
        with pytest.raises(PermissionError):
            (read_only_workspace / "probe").touch()
    pytester.makepyfile(test_gate=GATE)
    result = pytester.runpytest(f"--contexta-workspace={read_only_workspace}", "--contexta-candidate=run:svc.faster")
    result.assert_outcomes(passed=5)
    assert result.ret == pytest.ExitCode.OK
    assert snapshot_tree(read_only_workspace) == before
