"""Workspace.load_run: what a run holds, and which segment lines count as its records or its damage."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import REFERENCES, WORKSPACES
from pytest_contexta import Workspace
from pytest_contexta.reading.refs import parse_run_ref
from pytest_contexta.reading.segments import RecordReader
from pytest_contexta.runs.models import ContextaRun

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


@pytest.mark.parametrize(
    "ref",
    [
        "run:shop-ranker.baseline",
        "run:shop-ranker.candidate",
        "run:shop-ranker.cancelled-run",
        "run:fraud-model.retrain",
        "run:shop-ranker.no-stages",
    ],
)
def test_load_run_returns_what_contexta_reports(reference: dict[str, Any], ref: str) -> None:
    expected = reference["runs"][ref]["snapshot"]
    run = _load(WORKSPACES / "conformance", ref)

    assert (run.ref, run.status) == (expected["run"]["run_id"], expected["run"]["status"])
    assert [(s.ref, s.name, s.status) for s in run.stages] == [
        (s["stage_id"], s["name"], s["status"]) for s in expected["stages"]
    ]
    assert [(d.ref, d.status, d.run_ref) for d in run.deployments] == [
        (d["deployment_id"], d["status"], d["run_id"]) for d in expected["deployments"]
    ]
    assert [(b.ref, b.status) for b in run.batches] == [(b["batch_id"], b["status"]) for b in expected["batches"]]
    assert [(r.ref, r.record_type, r.key, r.stage_ref, r.observed_at) for r in run.records] == [
        (r["record_id"], r["record_type"], r["key"], r["stage_id"], r["observed_at"]) for r in expected["records"]
    ]
    assert [r.value for r in run.metrics] == [r["value"] for r in expected["records"] if r["record_type"] == "metric"]
    assert run.damaged == ()
    assert run.reader_notes == ()


def test_load_run_reads_deployments_batches_and_environments() -> None:
    run = _load(WORKSPACES / "conformance", "run:shop-ranker.baseline")
    assert [(d.name, d.status) for d in run.deployments] == [("prod", "completed"), ("prod-rollback", "cancelled")]
    assert [(b.name, b.stage_ref) for b in run.batches if b.stage_ref.endswith(".train")] == [
        ("epoch-1", "stage:shop-ranker.baseline.train"),
        ("epoch-2", "stage:shop-ranker.baseline.train"),
    ]
    (environment,) = run.environments
    assert environment.packages == {"numpy": "2.0.0", "scikit-learn": "1.5.0"}


def _overwrite_other_runs(root: Path, keep: str, garbage: Callable[[bytes], bytes]) -> list[int]:
    """Replace every segment line of another run by ``garbage(line)``; return their 1-based line numbers."""
    path = root / SEGMENT
    lines = path.read_bytes().splitlines(keepends=True)
    numbers = []
    for index, line in enumerate(lines):
        if f'"run_ref":"{keep}"'.encode() not in line:
            lines[index] = garbage(line)
            numbers.append(index + 1)
    path.write_bytes(b"".join(lines))
    return numbers


def _nameless(line: bytes) -> bytes:
    """Garbage of the same length that keeps only the trailing ``"sequence":N}``: no run can be told."""
    match = _SEQUENCE.search(line)
    assert match is not None
    tail = b'"sequence":' + match.group(1) + b"}\n"
    return b"#" * (len(line) - len(tail)) + tail


def _invalid_but_named(line: bytes) -> bytes:
    """The line with a producer_ref Contexta refuses: damaged, but it still names its run."""
    assert line.count(b'"producer_ref":"') == 1
    return line.replace(b'"producer_ref":"', b'"producer_ref":"Not Valid ')


def _content(run: ContextaRun) -> list[dict[str, Any]]:
    """The run's records without their byte offsets (the damage changed other lines' lengths)."""
    return [record.model_dump(exclude={"location": {"byte_offset"}}) for record in run.records]


RUN = "run:shop-ranker.candidate"


def test_damaged_lines_that_name_another_run_do_not_touch_this_one(workspace_copy: Callable[[str], Path]) -> None:
    intact = _load(WORKSPACES / "conformance", RUN)
    root = workspace_copy("conformance")
    assert len(_overwrite_other_runs(root, RUN, _invalid_but_named)) > 20

    run = _load(root, RUN)

    assert _content(run) == _content(intact)
    assert (run.damaged, run.reader_notes) == ((), ())
    assert [d.code for d in run.diagnostics] == [d.code for d in intact.diagnostics]


def test_lines_that_name_no_run_count_against_every_run(workspace_copy: Callable[[str], Path]) -> None:
    """Whatever the index says, a line whose run cannot be told might be this run's: it is read as damaged."""
    intact = _load(WORKSPACES / "conformance", RUN)
    root = workspace_copy("conformance")
    garbage = _overwrite_other_runs(root, RUN, _nameless)

    run = _load(root, RUN)

    assert _content(run) == _content(intact)
    assert [line.location.line for line in run.damaged] == garbage
    assert {line.run_ref for line in run.damaged} == {None}
    assert "unreadable_record" in {d.code for d in run.diagnostics}


def test_a_run_whose_own_lines_were_overwritten_loads_as_damaged_not_empty(
    workspace_copy: Callable[[str], Path],
) -> None:
    intact = _load(WORKSPACES / "conformance", "run:shop-ranker.baseline")
    root = workspace_copy("conformance")
    _overwrite_other_runs(root, RUN, _invalid_but_named)
    run = _load(root, "run:shop-ranker.baseline")
    assert run.records == ()
    assert [line.location.line for line in run.damaged] == [record.location.line for record in intact.records]
    assert all("producer_ref 'Not Valid " in line.reason for line in run.damaged)
    assert run.reader_notes == ()


def test_metrics_with_key_is_an_index_built_once_and_never_stale() -> None:
    run = _load(WORKSPACES / "latency", "run:svc.faster")
    accuracy = run.metrics_with_key("accuracy")
    assert [(m.key, m.value) for m in accuracy] == [("accuracy", 0.9)]
    assert run.metrics_with_key("accuracy") is accuracy  # indexed once
    assert run.metrics_with_key("nope") == ()
    trimmed = run.model_copy(update={"records": run.records[:1]})
    assert [m.key for m in trimmed.metrics_with_key("val-loss")] == ["val-loss"]
    assert trimmed.metrics_with_key("accuracy") == ()  # a copy with other records has its own index
    assert run == _load(WORKSPACES / "latency", "run:svc.faster")  # the index is not part of equality


def _found(found: Any) -> tuple[Any, ...]:
    return (
        [record.model_dump() for record in found.records],
        [line.model_dump() for line in found.damaged],
        found.notes,
    )


@pytest.mark.parametrize("count", [2, 6])
def test_reading_several_runs_in_one_pass_finds_what_reading_each_finds(
    workspace_copy: Callable[[str], Path], count: int
) -> None:
    """One pass over the segments for several runs (one find per run, or one pattern for many): the same records,
    damaged lines (nameless garbage counts against every run) and notes as reading each run alone."""
    root = workspace_copy("conformance")
    _overwrite_other_runs(
        root, "run:shop-ranker.baseline", lambda line: _nameless(line) if b".candidate" in line else line
    )
    workspace = Workspace(root)
    try:
        refs = [parse_run_ref(run.ref) for run in workspace.list_runs()][:count]
        assert len(refs) == count
        together = RecordReader(root / "records").read_runs(refs)
        alone = {ref.text: RecordReader(root / "records").read_run(ref) for ref in refs}
    finally:
        workspace.close()
    assert list(together) == list(alone)
    assert {ref: _found(found) for ref, found in together.items()} == {
        ref: _found(found) for ref, found in alone.items()
    }
    assert all(found.damaged for found in together.values())  # the garbage lines, against every run
    assert sum(bool(found.records) for found in together.values()) >= 2


def test_runs_loaded_together_load_as_read_alone_and_are_not_kept() -> None:
    """One pass for several runs gives what each read alone gives; a plain workspace keeps no runs (the gate
    session's one cache is ``SessionRuns``)."""
    workspace = Workspace(WORKSPACES / "conformance")
    try:
        together = workspace.load_runs([RUN, "run:shop-ranker.baseline", "not a ref"])
        assert set(together) == {RUN, "run:shop-ranker.baseline"}  # a text that is no ref is left to its own read
        alone = workspace.load_run(RUN)
        assert together[RUN] == alone and together[RUN] is not alone
    finally:
        workspace.close()


@pytest.mark.slow
def test_the_session_reads_the_candidate_and_its_baseline_in_one_pass(
    pytester: pytest.Pytester, reader_passes: list[list[str]]
) -> None:
    pytester.makepyfile(
        test_gate="""
        def test_regression(contexta_run, baseline_run):
            assert (contexta_run.ref, baseline_run.ref) == ("run:svc.faster", "run:svc.baseline")
    """
    )
    result = pytester.runpytest_inprocess(
        f"--contexta-workspace={WORKSPACES / 'latency'}", "--contexta-candidate=run:svc.faster"
    )
    assert result.ret == pytest.ExitCode.OK
    assert reader_passes == [["run:svc.faster", "run:svc.baseline"]]
