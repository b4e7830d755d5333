"""Metric lines held compact (issue 15): a line with a learnt shape must read exactly as a line decoded in full.

The reader is compared with itself with shapes switched off (every line decoded by ``parse_line``) on every
workspace Contexta wrote for the tests, and on copies of the per-step workspace damaged line by line.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from conftest import EXAMPLE_WORKSPACE, WORKSPACES
from pytest_contexta import Workspace
from pytest_contexta.reading.line_shapes import ShapeBook
from pytest_contexta.reading.pieces import Segment, hit_lines, run_needle
from pytest_contexta.reading.refs import parse_run_ref
from pytest_contexta.reading.run_records import RunRecordList
from pytest_contexta.reading.segments import RecordReader, RunRecords
from pytest_contexta.runs.metrics import Selection, find_metric
from pytest_contexta.runs.models import ContextaRun

STEPS = WORKSPACES / "steps"
SEGMENT = Path("records") / "segments" / "segment-000001.jsonl"
CANDIDATE = "run:steps.candidate"


def _run_refs(root: Path) -> list[str]:
    connection = duckdb.connect(str(root / "metadata" / "ledger.db"), read_only=True)
    try:
        return [ref for (ref,) in connection.execute("SELECT ref FROM runs ORDER BY ref").fetchall()]
    finally:
        connection.close()


def _read(root: Path, refs: list[str], shapes: bool) -> dict[str, RunRecords]:
    reader = RecordReader(root / "records")
    if not shapes:
        reader._shapes.match = lambda line: None  # type: ignore[method-assign]
    return reader.read_runs([parse_run_ref(ref) for ref in refs])


def _dumped(found: RunRecords) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    return (
        [record.model_dump() for record in found.records],
        [line.model_dump() for line in found.damaged],
        found.notes,
    )


def _same_either_way(root: Path, refs: list[str]) -> dict[str, RunRecords]:
    compact, decoded = _read(root, refs, shapes=True), _read(root, refs, shapes=False)
    for ref in refs:
        assert _dumped(compact[ref]) == _dumped(decoded[ref]), ref
        assert len(decoded[ref].records.compact) == 0
    return compact


WRITTEN_BY_CONTEXTA = sorted(
    path for path in WORKSPACES.iterdir() if (path / "metadata" / "ledger.db").is_file() and _run_refs(path)
) + [EXAMPLE_WORKSPACE]


@pytest.mark.parametrize("root", WRITTEN_BY_CONTEXTA, ids=lambda path: path.name)
def test_every_workspace_reads_the_same_with_and_without_shapes(root: Path) -> None:
    refs = _run_refs(root)
    found = _same_either_way(root, refs)
    held = sum(len(records.records.compact) for records in found.values())
    if root.name == "steps":  # per-step lines: all but the first two of each shape are held compact
        assert held > 0.9 * sum(len(records.records) for records in found.values())
    if root == EXAMPLE_WORKSPACE:  # the candidates logged per seed
        assert held > 50


def test_a_run_of_per_step_metrics_is_held_compact_and_built_on_demand() -> None:
    workspace = Workspace(STEPS)
    try:
        run = workspace.load_run(CANDIDATE)
    finally:
        workspace.close()
    decoded = _read(STEPS, [CANDIDATE], shapes=False)[CANDIDATE].records
    assert isinstance(run.records, RunRecordList) and len(run.records.compact) > 350
    assert len(run.records) == len(decoded) == 382
    assert list(run.records) == list(decoded)
    assert run.records[-1] == decoded[-1] and run.records[100:103] == tuple(decoded[100:103])
    losses = run.metrics_with_key("train-loss")
    assert [loss.tags["step"] for loss in losses] == [str(step) for step in range(120)]
    assert losses[0].value == 2.5 and losses[-1].value == round(2.5 * 0.9**119, 8)
    tokens = run.metrics_with_key("tokens-seen")
    assert tokens[7].value == 2**40 + 7 * 4096 and tokens[7].payload["value"] == 2**40 + 7 * 4096
    assert type(tokens[7].payload["value"]) is int
    assert run.metric_keys("train") == {"train-loss", "lr", "tokens-seen", "grad-norm"}
    marked = [d for d in run.diagnostics if d.code == "degraded_record"]
    assert len(marked) == 12 and all(d.summary == "degraded record detected for grad-norm" for d in marked)
    assert find_metric(run, "accuracy", "evaluate").value == pytest.approx(0.902)  # the mean of 5 seeds


def _line(root: Path, pattern: str, occurrence: int = 50) -> tuple[Path, bytes]:
    segment = root / SEGMENT
    lines = [line for line in segment.read_bytes().split(b"\n") if re.search(pattern.encode(), line)]
    return segment, lines[occurrence]


def _replace(segment: Path, line: bytes, changed: bytes) -> None:
    data = segment.read_bytes()
    assert data.count(line) == 1
    segment.write_bytes(data.replace(line, changed))


#: Changes to one per-step line, after its shape was learnt: (what, change, the line is damaged).
CHANGES: list[tuple[str, Callable[[bytes], bytes], bool]] = [
    ("value not finite", lambda line: re.sub(rb'"value":[^,]+', b'"value":1e999', line), True),
    ("value NaN", lambda line: re.sub(rb'"value":[^,]+', b'"value":NaN', line), True),
    ("value a string", lambda line: re.sub(rb'"value":[^,]+', b'"value":"0.5"', line), True),
    (
        "recorded before observed",
        lambda line: line.replace(b'"recorded_at":"2025-05-02T09', b'"recorded_at":"2025-05-02T08'),
        True,
    ),
    (
        "record_ref of another run",
        lambda line: line.replace(b'"record:steps.candidate.', b'"record:steps.baseline.'),
        True,
    ),
    ("record_ref token not lowercase", lambda line: re.sub(rb'\.r(\d+)"', rb'.R\1"', line), True),
    ("tag value a number", lambda line: re.sub(rb'"step":"(\d+)"', rb'"step":\1', line), True),
    ("sequence zero", lambda line: re.sub(rb'"sequence":\d+', b'"sequence":0', line), True),
    ("truncated", lambda line: line[: len(line) // 2], True),
    ("time without Z", lambda line: re.sub(rb'("observed_at":"[^"]*)Z"', rb'\1"', line), True),
    ("value repeated, the last wins", lambda line: line.replace(b',"value_type"', b',"value":0.5,"value_type"'), False),
    ("spaces after separators", lambda line: line.replace(b'","', b'", "'), False),
    ("an unknown envelope field", lambda line: line.replace(b'"extensions":[]', b'"extensions":[],"extra":"x"'), False),
    ("a long integer value", lambda line: re.sub(rb'"value":[^,]+', b'"value":123456789012345678901', line), False),
    ("an exponent value", lambda line: re.sub(rb'"value":[^,]+', b'"value":1E-7', line), False),
    ("minus zero", lambda line: re.sub(rb'"value":[^,]+', b'"value":-0', line), False),
    ("a tag in UTF-8", lambda line: re.sub(rb'"step":"(\d+)"', '"step":"é"'.encode(), line), False),
    ("observed with nanoseconds", lambda line: re.sub(rb'("observed_at":"[^"]*)Z"', rb'\1.123456789Z"', line), False),
]


@pytest.mark.parametrize(
    ("change", "damaged"), [(change, damaged) for _, change, damaged in CHANGES], ids=[what for what, _, _ in CHANGES]
)
def test_a_changed_step_line_reads_as_if_decoded_in_full(
    tmp_path: Path, change: Callable[[bytes], bytes], damaged: bool
) -> None:
    root = tmp_path / "steps"
    shutil.copytree(STEPS, root)
    segment, line = _line(root, r'"metric_key":"train-loss"')
    _replace(segment, line, change(line))

    found = _same_either_way(root, _run_refs(root))[CANDIDATE]

    step_50 = [item for item in found.damaged if item.location.line == _line_number(root, change(line))]
    assert bool(step_50) is damaged
    if damaged:
        workspace = Workspace(root)
        try:
            run = workspace.load_run(CANDIDATE)
        finally:
            workspace.close()
        assert "damaged record" in (find_metric(run, "train-loss", "train").problem or "")
        assert any(d.code == "unreadable_record" and d.severity == "error" for d in run.diagnostics)
        assert {line.key for line in run.damaged} <= {"train-loss", None}  # what could be told of the line


def _line_number(root: Path, line: bytes) -> int:
    return (root / SEGMENT).read_bytes().split(b"\n").index(line) + 1


def test_a_shape_is_learnt_from_the_second_line_that_has_it() -> None:
    book = ShapeBook()
    data = (STEPS / SEGMENT).read_bytes().split(b"\n")
    losses = [line for line in data if b'"metric_key":"train-loss"' in line and CANDIDATE.encode() in line]
    decoded = _read(STEPS, [CANDIDATE], shapes=False)[CANDIDATE].records
    first, second = decoded.with_key("train-loss")[:2]
    assert book.match(losses[0]) is None
    book.learn(losses[0], first)
    assert book.match(losses[1]) is None  # a shape is made from the second line that has it
    book.learn(losses[1], second)
    matched = book.match(losses[2])
    assert matched is not None and matched[0].run_ref == CANDIDATE
    assert book.match(losses[2].replace(b'"train-loss"', b'"train-lossx"')) is None


@pytest.mark.parametrize("run", [CANDIDATE, "run:steps.baseline"])
def test_dense_and_sparse_searches_find_the_same_lines(run: str) -> None:
    needle = run_needle(parse_run_ref(run))
    piece = next(Segment(STEPS / SEGMENT).pieces())
    by_lines = hit_lines(piece, [needle], None)  # the candidate's lines are most of the segment: split into lines
    by_search = hit_lines(piece, [needle], re.compile(re.escape(needle)))
    assert by_lines == by_search and len(by_lines) == (382 if run == CANDIDATE else 3)
    assert all(
        needle in text and STEPS.joinpath(SEGMENT).read_bytes()[start : start + len(text)] == text
        for start, _, text in by_lines
    )


def test_a_run_with_compact_lines_dumps_and_validates_like_any_run() -> None:
    workspace = Workspace(STEPS)
    try:
        run = workspace.load_run(CANDIDATE)
    finally:
        workspace.close()
    dumped = run.model_dump_json()
    again = ContextaRun.model_validate_json(dumped)
    assert isinstance(run.records, RunRecordList) and not isinstance(again.records, RunRecordList)
    assert again == run and list(again.records) == list(run.records)
    trimmed = run.model_copy(update={"records": tuple(run.records)[:3]})
    assert trimmed.metric_keys() == {"train-loss", "lr", "tokens-seen"} and len(trimmed.metrics) == 3


def test_a_per_step_key_fails_with_a_short_list_of_its_series() -> None:
    workspace = Workspace(STEPS)
    try:
        run = workspace.load_run(CANDIDATE)
    finally:
        workspace.close()
    problem = find_metric(run, "train-loss", "train").problem or ""
    assert problem.startswith("recorded as 120 series told apart by tags (step=0; step=1; step=10; ")
    assert "; … 110 more); a check never picks one" in problem
    last = find_metric(run, "train-loss", "train", selection=Selection(tags={"step": "119"}))
    assert last.value == round(2.5 * 0.9**119, 8)


def test_records_concatenate_like_the_tuple_they_stand_for() -> None:
    workspace = Workspace(STEPS)
    try:
        records = workspace.load_run(CANDIDATE).records
    finally:
        workspace.close()
    first = records[0]
    assert records + (first,) == (*records, first) and (first,) + records == (first, *records)
    with pytest.raises(TypeError):
        records + [first]  # type: ignore[operator]
