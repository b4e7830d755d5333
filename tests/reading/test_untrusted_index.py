"""Issue 9: every record of a run is found without trusting Contexta's indexes.

``restarted``, ``restarted-rebuilt`` and ``unindexed`` are written by the real Contexta
(tests/workspaces/generate.py): a manifest re-created mid-run so that sequences restart, the same after
``rebuild_indexes()``, and a degraded(error) record written with indexes disabled. The rest are
hand-damaged copies of ``latency`` (svc.faster is the candidate, lines 5-8).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from conftest import WORKSPACES, read_like_a_gate, run_checks
from pytest_contexta import assert_no_error_diagnostics, assert_no_regression
from pytest_contexta.checks.results import CheckContext
from pytest_contexta.runs.metrics import find_metric
from pytest_contexta.runs.models import ContextaRun
from pytest_contexta.runs.workspace import Workspace

SEGMENTS = Path("records") / "segments"
SEGMENT = SEGMENTS / "segment-000001.jsonl"
INDEXES = Path("records") / "indexes"


def _load(workspace: Path, ref: str) -> ContextaRun:
    opened = Workspace(workspace, lock_timeout=0)
    try:
        return opened.load_run(ref)
    finally:
        opened.close()


def _gate(workspace: Path, candidate: str, baseline: str) -> tuple[dict[str, str], list[str]]:
    """The checks of a gate file on ``candidate`` (read as a session reads it) against its deployed baseline: no
    error diagnostics, accuracy not regressed by more than 5 %. The detail of each check that did not pass, by
    kind (``diagnostics``, ``regression``), and the messages of the failing ones."""
    run, deployed = read_like_a_gate(workspace, candidate, baseline)
    results, messages = run_checks(
        [
            partial(assert_no_error_diagnostics, run),
            partial(assert_no_regression, run, deployed, "accuracy", stage="evaluate", max_drop=0.05),
        ],
        CheckContext(history=(deployed,)),
    )
    return {r.kind: r.detail for r in results if r.outcome != "passed"}, messages


def _lines(workspace: Path) -> list[bytes]:
    return (workspace / SEGMENT).read_bytes().splitlines(keepends=True)


def _location(line: int) -> str:
    return f"records/segments/segment-000001.jsonl line {line}"


# -- sequences restarted by a re-created manifest (written by Contexta) ----------------------------------

AMBIGUOUS = (
    f"{_location(5)}: sequence 1 does not follow sequence 4 of the same metric at {_location(4)} "
    f"(sequences restarted: was records/manifest.json re-created?), so which value is the latest is ambiguous"
)


@pytest.mark.parametrize("name", ["restarted", "restarted-rebuilt", "restarted-without-index"])
def test_a_reused_sequence_makes_the_metric_ambiguous_naming_both_lines(
    workspace_copy: Callable[[str], Path], name: str
) -> None:
    """Contexta shows both accuracy records (0.91, then 0.5 with a reused sequence and the same time);
    the gate keeps both and refuses to choose, whatever the index says."""
    workspace = workspace_copy(name.removesuffix("-without-index"))
    if name.endswith("-without-index"):
        shutil.rmtree(workspace / INDEXES)
    run = _load(workspace, "run:seq.reused")
    assert [(m.sequence, m.key, m.value) for m in run.metrics] == [
        (3, "val-loss", 0.28),
        (4, "accuracy", 0.91),
        (1, "accuracy", 0.5),
    ]
    assert [(str(line.location), line.reason) for line in run.damaged] == [(_location(5), AMBIGUOUS.split(": ", 1)[1])]
    lookup = find_metric(run, "accuracy", "evaluate")
    assert (lookup.value, lookup.problem) == (None, f"a damaged record that may hold it ({_location(5)})")
    assert find_metric(run, "val-loss", "train").value == 0.28
    assert any("sequence 1 at " + _location(5) in note for note in run.reader_notes)


def test_a_run_whose_sequences_collide_with_another_runs_is_read_whole() -> None:
    """``other`` reuses sequences 2-3 of the baseline after the re-created manifest: its own lines still rise."""
    run = _load(WORKSPACES / "restarted", "run:seq.other")
    assert [(m.sequence, m.key, m.value) for m in run.metrics] == [(2, "val-loss", 0.29), (3, "accuracy", 0.92)]
    assert (run.damaged, run.reader_notes) == ((), ())
    assert _load(WORKSPACES / "restarted", "run:seq.baseline").damaged == ()


def test_the_gate_fails_the_ambiguous_metric_with_both_locations() -> None:
    failed, messages = _gate(WORKSPACES / "restarted", "run:seq.reused", "run:seq.baseline")
    assert len(messages) == 2
    assert set(failed) == {"diagnostics", "regression"}
    assert f"a damaged record that may hold it ({_location(5)})" in failed["regression"]
    assert f"does not follow sequence 4 of the same metric at {_location(4)}" in failed["diagnostics"]


@pytest.mark.parametrize("value", [b"0.91", b"0.5"])
def test_a_duplicated_sequence_with_another_value_is_ambiguous(
    workspace_copy: Callable[[str], Path], value: bytes
) -> None:
    """The candidate's accuracy line copied to the end with the same sequence and a later, better or worse value."""
    workspace = workspace_copy("latency")
    copied = _lines(workspace)[5].replace(b'"value":0.9,', b'"value":' + value + b",")
    with (workspace / SEGMENT).open("ab") as handle:
        handle.write(copied)
    run = _load(workspace, "run:svc.faster")
    assert [m.value for m in run.metrics if m.key == "accuracy"] == [0.9, float(value)]
    assert [str(line.location) for line in run.damaged] == [_location(17)]
    assert run.damaged[0].reason == (
        f"record_ref record:svc.faster.r0002 repeats {_location(6)} with other content; sequence 6 does not follow "
        f"sequence 6 of the same metric at {_location(6)} (sequences restarted: was records/manifest.json "
        f"re-created?), so which value is the latest is ambiguous"
    )
    assert find_metric(run, "accuracy", "evaluate").value is None


def test_a_line_duplicated_byte_for_byte_is_not_ambiguous(workspace_copy: Callable[[str], Path]) -> None:
    workspace = workspace_copy("latency")
    with (workspace / SEGMENT).open("ab") as handle:
        handle.write(_lines(workspace)[5])
    run = _load(workspace, "run:svc.faster")
    assert [m.value for m in run.metrics if m.key == "accuracy"] == [0.9, 0.9]
    assert run.damaged == ()
    assert find_metric(run, "accuracy", "evaluate").value == 0.9
    assert run.reader_notes == (
        "1 record line(s) of this run are not in records/indexes/run_ref (written with "
        "indexes disabled, or an interrupted write); read from the segments",
        f"sequence 6 at {_location(17)} does not follow sequence 8 at {_location(8)}: "
        f"sequences restarted or repeat (records/manifest.json re-created?)",
    )


def test_a_record_ref_repeated_with_other_content_is_ambiguous(workspace_copy: Callable[[str], Path]) -> None:
    workspace = workspace_copy("latency")
    lines = _lines(workspace)
    repeated = lines[5].replace(b'"value":0.9,', b'"value":0.4,').replace(b'"sequence":6}', b'"sequence":17}')
    with (workspace / SEGMENT).open("ab") as handle:
        handle.write(repeated)
    run = _load(workspace, "run:svc.faster")
    reasons = [line.reason for line in run.damaged]
    assert f"record_ref record:svc.faster.r0002 repeats {_location(6)} with other content" in reasons
    assert find_metric(run, "accuracy", "evaluate").problem == (f"a damaged record that may hold it ({_location(17)})")


def test_a_record_appended_twice_unchanged_is_not_ambiguous(workspace_copy: Callable[[str], Path]) -> None:
    """Contexta accepts the same record twice (a retried append): same content, a new sequence."""
    workspace = workspace_copy("latency")
    repeated = _lines(workspace)[5].replace(b'"sequence":6}', b'"sequence":17}')
    with (workspace / SEGMENT).open("ab") as handle:
        handle.write(repeated)
    run = _load(workspace, "run:svc.faster")
    assert run.damaged == ()
    assert find_metric(run, "accuracy", "evaluate").value == 0.9


# -- records the index does not list (written by Contexta with indexes disabled) -------------------------


def test_a_degraded_record_written_without_indexes_fails_the_gate() -> None:
    run = _load(WORKSPACES / "unindexed", "run:quiet.quiet")
    assert [(r.record_type, r.key) for r in run.records][-2:] == [
        ("degraded", "eval.labels_missing"),
        ("event", "training.finished"),
    ]
    assert run.reader_notes == (
        "1 record line(s) of this run are not in records/indexes/run_ref (written with "
        "indexes disabled, or an interrupted write); read from the segments",
    )
    failed, messages = _gate(WORKSPACES / "unindexed", "run:quiet.quiet", "run:quiet.baseline")
    assert messages and "degraded_record" in failed["diagnostics"]


def test_an_unindexed_degraded_tail_before_an_empty_later_segment_fails_the_gate(
    workspace_copy: Callable[[str], Path],
) -> None:
    workspace = workspace_copy("unindexed")
    (workspace / SEGMENTS / "segment-000002.jsonl").write_bytes(b"")
    failed, messages = _gate(workspace, "run:quiet.quiet", "run:quiet.baseline")
    assert messages and "degraded_record" in failed["diagnostics"]


def test_records_in_a_later_segment_are_read(workspace_copy: Callable[[str], Path]) -> None:
    """Segments are read in name order whatever their number; the index may name none of them."""
    workspace = workspace_copy("latency")
    lines = _lines(workspace)
    (workspace / SEGMENT).write_bytes(b"".join(lines[:6]))
    (workspace / SEGMENTS / "segment-000007.jsonl").write_bytes(b"".join(lines[6:]))
    run = _load(workspace, "run:svc.faster")
    assert [(m.key, m.location.segment) for m in run.metrics] == [
        ("val-loss", "segment-000001.jsonl"),
        ("accuracy", "segment-000001.jsonl"),
        ("latency-p95-ms", "segment-000007.jsonl"),
        ("error-count", "segment-000007.jsonl"),
    ]
    lost = [str(line.location) for line in run.damaged]  # the index says segment 1 held sequences 7 and 8
    assert lost == [_location(7), _location(8)]


# -- records Contexta would refuse are damaged lines --------------------------------------------------

REFUSED = {
    "degraded-marker-none": (
        b'"degradation_marker":"capture_gap"',
        b'"degradation_marker":"none"',
        "a degraded record must carry a degradation_marker other than 'none'",
    ),
    "degraded-marker-missing": (
        b'"degradation_marker":"capture_gap",',
        b"",
        "a degraded record must carry a degradation_marker other than 'none'",
    ),
}


@pytest.mark.parametrize(("old", "new", "reason"), REFUSED.values(), ids=REFUSED.keys())
def test_a_degraded_record_contexta_would_refuse_fails_the_gate(
    workspace_copy: Callable[[str], Path], old: bytes, new: bytes, reason: str
) -> None:
    workspace = workspace_copy("unindexed")
    data = (workspace / SEGMENT).read_bytes()
    assert data.count(old) == 1
    (workspace / SEGMENT).write_bytes(data.replace(old, new))
    run = _load(workspace, "run:quiet.quiet")
    assert [(line.record_type, line.key) for line in run.damaged] == [("degraded", "eval.labels_missing")]
    assert reason in run.damaged[0].reason
    failed, messages = _gate(workspace, "run:quiet.quiet", "run:quiet.baseline")
    assert messages and "unreadable_record" in failed["diagnostics"]
