"""Damaged records are isolated, and a missing or stale run_ref index loses nothing (it is only a cross-check).

Every case damages a copy of the ``latency`` workspace: runs ``svc.baseline`` (segment lines 1-4, the
deployed baseline), ``svc.faster`` (5-8, the candidate), ``svc.slower`` (9-12) and ``svc.mixed``
(13-16, the segment's tail). Each run logs ``val-loss`` in train, then ``accuracy``,
``latency-p95-ms`` and ``error-count`` in evaluate, in that order.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest

from conftest import WORKSPACES, read_like_a_gate, run_checks, unmatched
from pytest_contexta import assert_metrics_present, assert_no_error_diagnostics, assert_no_regression
from pytest_contexta.checks.results import CheckContext
from pytest_contexta.runs.metrics import find_metric
from pytest_contexta.runs.models import ContextaRun
from pytest_contexta.runs.workspace import Workspace

SEGMENT = Path("records") / "segments" / "segment-000001.jsonl"
INDEXES = Path("records") / "indexes"
LINE_OF = {
    ("run:svc.baseline", "accuracy"): 2,
    ("run:svc.faster", "accuracy"): 6,
    ("run:svc.slower", "accuracy"): 10,
    ("run:svc.mixed", "error-count"): 16,
}
BASELINE = "run:svc.baseline"  # the deployed run: every candidate's baseline and its history
METRICS = ("accuracy", "latency-p95-ms", "error-count")


@dataclass
class Gated:
    """What the checks of a gate found: those that did not pass, by (kind, metric), with their detail; the
    messages of the failing ones (what pytest shows under each failure); the reader notes of both runs."""

    failed: dict[tuple[str, str | None], str]
    messages: list[str]
    notes: tuple[str, ...]


def _gate(workspace: Path, candidate: str) -> Gated:
    """The checks of a gate file on ``candidate``, read as a session reads it: no error diagnostics, then each
    metric present in evaluate and not regressed by more than 10 % against the deployed baseline."""
    run, baseline = read_like_a_gate(workspace, candidate, BASELINE)
    checks = [partial(assert_no_error_diagnostics, run)]
    checks += [partial(assert_metrics_present, run, metric, stage="evaluate") for metric in METRICS]
    checks += [
        partial(assert_no_regression, run, baseline, metric, stage="evaluate", max_drop=0.1) for metric in METRICS
    ]
    results, messages = run_checks(checks, CheckContext(history=(baseline,)))
    failed = {(r.kind, r.metric): r.detail for r in results if r.outcome != "passed"}
    return Gated(failed, messages, run.reader_notes + baseline.reader_notes)


E2E_GATE = """
import pytest
from pytest_contexta import assert_metrics_present, assert_no_error_diagnostics, assert_no_regression

def test_diagnostics(contexta_run):
    assert_no_error_diagnostics(contexta_run)

@pytest.mark.parametrize("metric", ["accuracy", "latency-p95-ms", "error-count"])
def test_regression(contexta_run, baseline_run, metric):
    assert_metrics_present(contexta_run, metric, stage="evaluate")
    assert_no_regression(contexta_run, baseline_run, metric, stage="evaluate", max_drop=0.1)
"""


def _lines(workspace: Path) -> list[bytes]:
    return (workspace / SEGMENT).read_bytes().splitlines(keepends=True)


def _damage_line(workspace: Path, number: int, damage: Callable[[bytes], bytes]) -> None:
    lines = _lines(workspace)
    damaged = damage(lines[number - 1])
    assert damaged != lines[number - 1]
    lines[number - 1] = damaged
    (workspace / SEGMENT).write_bytes(b"".join(lines))


def _replace(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    def damage(line: bytes) -> bytes:
        assert line.count(old) == 1, (old, line)
        return line.replace(old, new)

    return damage


def _value_to(text: bytes) -> Callable[[bytes], bytes]:
    def damage(line: bytes) -> bytes:
        payload = json.loads(line)["record"]["payload"]
        return _replace(b'"value":' + json.dumps(payload["value"]).encode(), b'"value":' + text)(line)

    return damage


DAMAGES = {
    "invalid-json": _replace(b'},"sequence"', b'},,"sequence"'),
    "nan-value": _value_to(b"NaN"),
    "infinity-value": _value_to(b"-Infinity"),
    "unknown-record-type": _replace(b'"record_type":"metric"', b'"record_type":"hologram"'),
    "value-not-a-number": _value_to(b'"high"'),
    "missing-field": _replace(b'"producer_ref":"pytest-contexta.tests",', b""),
    "bad-timestamp": _replace(b'"observed_at":"2025-05-0', b'"observed_at":"yesterday 2025-05-0'),
}


def _truncate_last_line(workspace: Path) -> None:
    """Cut the segment in the middle of its last line's payload, as a crash during the write would."""
    data = (workspace / SEGMENT).read_bytes()
    (workspace / SEGMENT).write_bytes(data[: data.rindex(b'"value_type"')])


# -- damaged lines --------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", DAMAGES.values(), ids=DAMAGES.keys())
def test_damaged_line_of_another_run_does_not_touch_the_gate(
    workspace_copy: Callable[[str], Path], damage: Callable[[bytes], bytes]
) -> None:
    workspace = workspace_copy("latency")
    _damage_line(workspace, LINE_OF["run:svc.slower", "accuracy"], damage)
    assert _gate(workspace, "run:svc.faster") == Gated({}, [], ())


def test_truncated_last_line_of_another_run_does_not_touch_the_gate(workspace_copy: Callable[[str], Path]) -> None:
    """The cut line still names its run (svc.mixed), so it is that run's damage alone."""
    workspace = workspace_copy("latency")
    _truncate_last_line(workspace)
    assert _gate(workspace, "run:svc.faster") == Gated({}, [], ())


def _location(line: int) -> str:
    return f"records/segments/segment-000001.jsonl line {line}"


@pytest.mark.parametrize("damage", DAMAGES.values(), ids=DAMAGES.keys())
def test_damaged_line_of_the_candidate_fails_the_checks_it_touches(
    workspace_copy: Callable[[str], Path], damage: Callable[[bytes], bytes]
) -> None:
    workspace = workspace_copy("latency")
    line = LINE_OF["run:svc.faster", "accuracy"]
    _damage_line(workspace, line, damage)
    gated = _gate(workspace, "run:svc.faster")
    assert set(gated.failed) == {("diagnostics", None), ("metrics_present", "accuracy"), ("regression", "accuracy")}
    assert all(_location(line) in detail for detail in gated.failed.values()), gated.failed
    shown = "\n".join(gated.messages).splitlines()
    assert not unmatched(
        shown,
        [
            f"*accuracy: a damaged record that may hold it ({_location(line)})",
            f"*unreadable_record*{_location(line)} cannot be read*",
        ],
    ), shown


def test_truncated_last_line_of_the_candidate_fails_the_checks_it_touches(
    workspace_copy: Callable[[str], Path],
) -> None:
    workspace = workspace_copy("latency")
    _truncate_last_line(workspace)
    failed = _gate(workspace, "run:svc.mixed").failed
    assert set(failed) == {("diagnostics", None), ("metrics_present", "error-count"), ("regression", "error-count")}
    assert all(_location(16) in detail for detail in failed.values()), failed
    assert "not valid JSON (truncated or corrupted line)" in failed["diagnostics", None]


@pytest.mark.parametrize("damage", DAMAGES.values(), ids=DAMAGES.keys())
def test_damaged_line_of_the_baseline_fails_the_comparisons_it_touches(
    workspace_copy: Callable[[str], Path], damage: Callable[[bytes], bytes]
) -> None:
    workspace = workspace_copy("latency")
    line = LINE_OF["run:svc.baseline", "accuracy"]
    _damage_line(workspace, line, damage)
    gated = _gate(workspace, "run:svc.faster")
    assert len(gated.messages) == 1
    assert gated.failed == {
        ("regression", "accuracy"): f"accuracy: cannot compare (baseline: a damaged record that may hold it "
        f"({_location(line)}))",
    }


def test_damaged_line_without_a_readable_key_fails_every_metric_check(workspace_copy: Callable[[str], Path]) -> None:
    workspace = workspace_copy("latency")
    line = LINE_OF["run:svc.faster", "accuracy"]
    _damage_line(workspace, line, lambda text: text[: text.index(b'"payload"')] + b"\n")
    failed = _gate(workspace, "run:svc.faster").failed
    assert {metric for kind, metric in failed if kind == "metrics_present"} == {
        "accuracy",
        "latency-p95-ms",
        "error-count",
    }
    assert all(_location(line) in detail for detail in failed.values()), failed


# -- a missing or stale run_ref index -------------------------------------------------------------


def _metrics(workspace: Path, ref: str) -> tuple[list[tuple[object, ...]], tuple[str, ...], int]:
    """The run's metrics as (sequence, key, stage, value), its reader notes, and its damaged line count."""
    opened = Workspace(workspace, lock_timeout=0)
    try:
        run = opened.load_run(ref)
    finally:
        opened.close()
    return [(m.sequence, m.key, m.stage_name, m.value) for m in run.metrics], run.reader_notes, len(run.damaged)


def _drop_index_entries(workspace: Path, family: str, sequence: int) -> None:
    """Remove the entries for ``sequence`` from every index file of ``family`` (``*``: every family)."""
    for path in (workspace / INDEXES).glob(f"{family}/*.jsonl"):
        lines = path.read_bytes().splitlines(keepends=True)
        path.write_bytes(b"".join(line for line in lines if json.loads(line)["sequence"] != sequence))


def _append(path: Path, data: bytes) -> None:
    with path.open("ab") as handle:
        handle.write(data)


def _rewrite_index_entry(workspace: Path, ref: str, sequence: int, new_sequence: int) -> None:
    path = workspace / INDEXES / "run_ref" / f"run__{ref.removeprefix('run:')}.jsonl"
    old = f'"segment_id":1,"sequence":{sequence}}}'
    assert path.read_text(encoding="utf-8").count(old) == 1
    path.write_text(
        path.read_text(encoding="utf-8").replace(old, f'"segment_id":1,"sequence":{new_sequence}}}'), encoding="utf-8"
    )


UNINDEXED = (
    "1 record line(s) of this run are not in records/indexes/run_ref (written with indexes disabled, or an "
    "interrupted write); read from the segments"
)
INDEX_DAMAGES: dict[str, tuple[str, Callable[[Path], None], tuple[str, ...]]] = {
    "run-ref-folder-removed": (
        "run:svc.faster",
        lambda ws: shutil.rmtree(ws / INDEXES / "run_ref"),
        ("records/indexes/run_ref is missing (indexes disabled?); nothing to cross-check, every segment was read",),
    ),
    "record-type-folder-removed": ("run:svc.faster", lambda ws: shutil.rmtree(ws / INDEXES / "record_type"), ()),
    "index-file-of-the-run-deleted": (
        "run:svc.faster",
        lambda ws: (ws / INDEXES / "run_ref" / "run__svc.faster.jsonl").unlink(),
        ("records/indexes/run_ref/run__svc.faster.jsonl is missing; every segment was read",),
    ),
    "unreadable-index-line": (
        "run:svc.faster",
        lambda ws: _append(ws / INDEXES / "run_ref" / "run__svc.faster.jsonl", b"{\n"),
        ("records/indexes/run_ref/run__svc.faster.jsonl has unreadable lines; the segments were read in full",),
    ),
    "index-behind-the-segment": ("run:svc.mixed", lambda ws: _drop_index_entries(ws, "*", 16), (UNINDEXED,)),
    "crash-between-run-ref-and-record-type-index": (
        "run:svc.mixed",
        lambda ws: (_drop_index_entries(ws, "record_type", 16), _drop_index_entries(ws, "stage_execution_ref", 16)),
        (),
    ),
}


@pytest.mark.parametrize(("ref", "damage", "notes"), INDEX_DAMAGES.values(), ids=INDEX_DAMAGES.keys())
def test_a_missing_or_stale_index_loses_nothing_and_is_noted(
    workspace_copy: Callable[[str], Path], ref: str, damage: Callable[[Path], None], notes: tuple[str, ...]
) -> None:
    """The segments are read in full whatever the index says; the index only cross-checks them."""
    intact, intact_notes, _ = _metrics(WORKSPACES / "latency", ref)
    assert len(intact) == 4 and intact_notes == ()
    workspace = workspace_copy("latency")
    damage(workspace)
    assert _metrics(workspace, ref) == (intact, notes, 0)


def _lost(segment: str, line: int, sequence: int) -> tuple[str, str]:
    return (
        f"records/segments/{segment} line {line}",
        f"listed in the run_ref index (sequence {sequence}) but missing from the segment: records lost? Restore "
        f"the segments from a backup, or let Contexta rebuild_indexes() if the index is what is wrong",
    )


def _load(workspace: Path, ref: str) -> ContextaRun:
    opened = Workspace(workspace, lock_timeout=0)
    try:
        return opened.load_run(ref)
    finally:
        opened.close()


LOST_ENTRIES: dict[str, tuple[Callable[[Path], None], int, tuple[str, ...], list[tuple[str, str]]]] = {
    "entry-pointing-at-another-runs-line": (
        lambda ws: _rewrite_index_entry(ws, "run:svc.faster", 6, 10),
        4,
        (UNINDEXED,),
        [_lost("segment-000001.jsonl", 6, 10)],
    ),
    "entry-naming-a-sequence-the-segment-lacks": (
        lambda ws: _rewrite_index_entry(ws, "run:svc.faster", 8, 99),
        4,
        (UNINDEXED,),
        [_lost("segment-000001.jsonl", 8, 99)],
    ),
    "segment-deleted": (
        lambda ws: (ws / SEGMENT).unlink(),
        0,
        (),
        [_lost("segment-000001.jsonl", line, line) for line in (5, 6, 7, 8)],
    ),
    "segment-cut-before-the-run": (
        lambda ws: (ws / SEGMENT).write_bytes(b"".join(_lines(ws)[:6])),
        2,
        (),
        [_lost("segment-000001.jsonl", 7, 7), _lost("segment-000001.jsonl", 8, 8)],
    ),
    "unreadable-index-line-and-segment-cut": (
        lambda ws: (
            _append(ws / INDEXES / "run_ref" / "run__svc.faster.jsonl", b"{\n"),
            (ws / SEGMENT).write_bytes(b"".join(_lines(ws)[:7])),
        ),
        3,
        ("records/indexes/run_ref/run__svc.faster.jsonl has unreadable lines; the segments were read in full",),
        [_lost("segment-000001.jsonl", 8, 8)],
    ),
}


@pytest.mark.parametrize(("damage", "kept", "notes", "lost"), LOST_ENTRIES.values(), ids=LOST_ENTRIES.keys())
def test_index_entries_the_segments_do_not_hold_are_damaged_lines(
    workspace_copy: Callable[[str], Path],
    damage: Callable[[Path], None],
    kept: int,
    notes: tuple[str, ...],
    lost: list[tuple[str, str]],
) -> None:
    intact, _, _ = _metrics(WORKSPACES / "latency", "run:svc.faster")
    workspace = workspace_copy("latency")
    damage(workspace)
    run = _load(workspace, "run:svc.faster")
    assert [(m.sequence, m.key, m.stage_name, m.value) for m in run.metrics] == intact[:kept]
    assert run.reader_notes == notes
    assert [(str(line.location), line.reason, line.run_ref) for line in run.damaged] == [
        (*where_and_why, "run:svc.faster") for where_and_why in lost
    ]
    assert all(line.could_hold_metric(key) for line in run.damaged for key in ("accuracy", "val-loss"))
    unreadable = [d.summary for d in run.diagnostics if d.code == "unreadable_record" and d.severity == "error"]
    assert unreadable == [f"{where} cannot be read: {why}" for where, why in lost]
    lookup = find_metric(run, "accuracy", "evaluate")
    assert (lookup.value, lookup.problem) == (
        None,
        f"a damaged record that may hold it ({', '.join(where for where, _ in lost)})",
    )


def test_a_run_whose_records_were_cut_from_the_segment_fails_the_gate(workspace_copy: Callable[[str], Path]) -> None:
    workspace = workspace_copy("latency")
    (workspace / SEGMENT).write_bytes(b"".join(_lines(workspace)[:12]))  # svc.mixed's lines 13-16 are gone
    failed = _gate(workspace, "run:svc.mixed").failed
    assert set(failed) == {("diagnostics", None)} | {
        (kind, metric)
        for kind in ("metrics_present", "regression")
        for metric in ("accuracy", "latency-p95-ms", "error-count")
    }
    assert (
        "unreadable_record: records/segments/segment-000001.jsonl line 13 cannot be read: listed in the run_ref "
        "index (sequence 13) but missing from the segment: records lost?" in failed["diagnostics", None]
    )
    assert failed["metrics_present", "accuracy"] == (
        "accuracy: a damaged record that may hold it (" + ", ".join(_location(line) for line in (13, 14, 15, 16)) + ")"
    )


def test_a_run_without_records_has_no_index_file_and_gets_no_note() -> None:
    metrics, notes, damaged = _metrics(WORKSPACES / "conformance", "run:shop-ranker.no-records")
    assert not (WORKSPACES / "conformance" / INDEXES / "run_ref" / "run__shop-ranker.no-records.jsonl").exists()
    assert (metrics, notes, damaged) == ([], (), 0)


def test_blank_line_in_the_segment_shifts_lines_but_loses_nothing(workspace_copy: Callable[[str], Path]) -> None:
    intact = _metrics(WORKSPACES / "latency", "run:svc.faster")
    workspace = workspace_copy("latency")
    lines = _lines(workspace)
    (workspace / SEGMENT).write_bytes(b"".join([*lines[:4], b"\n", *lines[4:]]))
    assert _metrics(workspace, "run:svc.faster") == intact


def test_damaged_line_after_a_blank_line_is_reported_at_its_real_line(workspace_copy: Callable[[str], Path]) -> None:
    workspace = workspace_copy("latency")
    lines = _lines(workspace)
    (workspace / SEGMENT).write_bytes(b"".join([*lines[:4], b"\n", *lines[4:]]))
    line = LINE_OF["run:svc.faster", "accuracy"] + 1  # the index still says record 6
    _damage_line(workspace, line, DAMAGES["nan-value"])
    failed = _gate(workspace, "run:svc.faster").failed
    assert failed["metrics_present", "accuracy"] == f"accuracy: a damaged record that may hold it ({_location(line)})"


def test_fallback_notes_are_noted_for_both_runs_and_the_checks_still_decide(
    workspace_copy: Callable[[str], Path],
) -> None:
    workspace = workspace_copy("latency")
    shutil.rmtree(workspace / INDEXES)
    fallback = "records/indexes/run_ref is missing (indexes disabled?); nothing to cross-check, every segment was read"
    assert _gate(workspace, "run:svc.faster") == Gated({}, [], (fallback, fallback))


@pytest.mark.slow
def test_fallback_notes_are_shown_and_the_gate_still_decides(
    pytester: pytest.Pytester, workspace_copy: Callable[[str], Path]
) -> None:
    """End to end: a gate session over a damaged workspace decides, and says what its reader noted."""
    workspace = workspace_copy("latency")
    shutil.rmtree(workspace / INDEXES)
    pytester.makepyfile(test_gate=E2E_GATE)
    report = pytester.path / "gate.json"
    result = pytester.runpytest(
        f"--contexta-workspace={workspace}", "--contexta-candidate=run:svc.faster", f"--contexta-report={report}"
    )
    assert "Traceback" not in result.stdout.str()
    assert result.ret == pytest.ExitCode.OK
    assert json.loads(report.read_text(encoding="utf-8"))["verdict"] == "pass"
    fallback = "records/indexes/run_ref is missing (indexes disabled?); nothing to cross-check, every segment was read"
    result.stdout.fnmatch_lines_random(
        [f"note: run:svc.faster: {fallback}", f"note: run:svc.baseline: {fallback}", "GATE PASSED for run:svc.faster"]
    )
