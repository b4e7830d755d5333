"""Workspace.load_run: what a run holds, and that its records come through the run_ref index."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import REFERENCES, WORKSPACES

from pytest_contexta import Workspace
from pytest_contexta.models import ContextaRun

SEGMENT = Path("records") / "segments" / "segment-000001.jsonl"
_SEQUENCE = re.compile(rb'"sequence":(\d+)\}\s*$')


def _load(root: Path, ref: str) -> ContextaRun:
    workspace = Workspace(root)
    try:
        return workspace.load_run(ref)
    finally:
        workspace.close()


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    return json.loads((REFERENCES / "conformance.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("ref", ["run:shop-ranker.baseline", "run:shop-ranker.candidate",
                                 "run:shop-ranker.cancelled-run", "run:fraud-model.retrain",
                                 "run:shop-ranker.no-stages"])
def test_load_run_returns_what_contexta_reports(reference: dict[str, Any], ref: str) -> None:
    expected = reference["runs"][ref]["snapshot"]
    run = _load(WORKSPACES / "conformance", ref)

    assert (run.ref, run.status) == (expected["run"]["run_id"], expected["run"]["status"])
    assert [(s.ref, s.name, s.status) for s in run.stages] == [
        (s["stage_id"], s["name"], s["status"]) for s in expected["stages"]]
    assert [(d.ref, d.status, d.run_ref) for d in run.deployments] == [
        (d["deployment_id"], d["status"], d["run_id"]) for d in expected["deployments"]]
    assert [(b.ref, b.status) for b in run.batches] == [(b["batch_id"], b["status"]) for b in expected["batches"]]
    assert [(r.ref, r.record_type, r.key, r.stage_ref, r.observed_at) for r in run.records] == [
        (r["record_id"], r["record_type"], r["key"], r["stage_id"], r["observed_at"]) for r in expected["records"]]
    assert [r.value for r in run.metrics] == [r["value"] for r in expected["records"] if r["record_type"] == "metric"]
    assert run.damaged == ()
    assert run.reader_notes == ()


def test_load_run_reads_deployments_batches_and_environments() -> None:
    run = _load(WORKSPACES / "conformance", "run:shop-ranker.baseline")
    assert [(d.name, d.status) for d in run.deployments] == [("prod", "completed"), ("prod-rollback", "cancelled")]
    assert [(b.name, b.stage_ref) for b in run.batches if b.stage_ref.endswith(".train")] == [
        ("epoch-1", "stage:shop-ranker.baseline.train"), ("epoch-2", "stage:shop-ranker.baseline.train")]
    (environment,) = run.environments
    assert environment.packages == {"numpy": "2.0.0", "scikit-learn": "1.5.0"}


def _damage_other_runs(root: Path, keep: str) -> int:
    """Overwrite every segment line of another run with garbage of the same length that keeps only the
    trailing ``"sequence":N}`` (so the run's own lines stay at their byte offsets). Returns how many."""
    path = root / SEGMENT
    lines = path.read_bytes().splitlines(keepends=True)
    damaged = 0
    for index, line in enumerate(lines):
        if f'"run_ref":"{keep}"'.encode() in line:
            continue
        match = _SEQUENCE.search(line)
        assert match is not None
        tail = b'"sequence":' + match.group(1) + b"}\n"
        lines[index] = b"#" * (len(line) - len(tail)) + tail
        damaged += 1
    path.write_bytes(b"".join(lines))
    return damaged


RUN = "run:shop-ranker.candidate"


def test_loading_a_run_reads_only_its_own_lines(workspace_copy: Callable[[str], Path]) -> None:
    """Every other run's line is garbage in the copy, yet the run loads exactly as from the intact workspace,
    with no damaged line and no reader note: the index led straight to the run's own lines."""
    intact = _load(WORKSPACES / "conformance", RUN)
    root = workspace_copy("conformance")
    assert _damage_other_runs(root, RUN) > 20

    run = _load(root, RUN)

    assert run.records == intact.records
    assert run.damaged == ()
    assert run.reader_notes == ()
    assert [d.code for d in run.diagnostics] == [d.code for d in intact.diagnostics]


def test_without_the_index_the_damage_would_have_been_seen(workspace_copy: Callable[[str], Path]) -> None:
    """The control for the test above: reading every segment meets the garbage lines, which cannot be
    attributed to a run and so count against this one."""
    root = workspace_copy("conformance")
    damaged = _damage_other_runs(root, RUN)
    shutil.rmtree(root / "records" / "indexes" / "run_ref")

    run = _load(root, RUN)

    assert len(run.damaged) == damaged
    assert run.reader_notes == ("the run_ref index folder records/indexes/run_ref is missing; read every segment "
                                "instead",)
    assert "unreadable_record" in {d.code for d in run.diagnostics}


def test_other_runs_of_the_damaged_copy_are_still_refused(workspace_copy: Callable[[str], Path]) -> None:
    """The damage is real: a run whose own lines were overwritten loads as damaged, not as empty."""
    intact = _load(WORKSPACES / "conformance", "run:shop-ranker.baseline")
    root = workspace_copy("conformance")
    _damage_other_runs(root, RUN)
    run = _load(root, "run:shop-ranker.baseline")
    assert run.records == ()
    assert [line.location for line in run.damaged] == [record.location for record in intact.records]
    assert run.reader_notes == ()
