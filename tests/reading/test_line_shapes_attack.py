"""Attacks on the compact reader (branch bulk): inputs where a line with a learnt shape, or a whole-run check, does
not read as the full decode (or the reader before it) does. Each test fails on bulk at a37f097."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from conftest import WORKSPACES, read_like_a_gate
from pytest_contexta import GateCheckFailed, assert_no_error_diagnostics
from pytest_contexta.reading.refs import parse_run_ref
from pytest_contexta.reading.segments import RecordReader, RunRecords

STEPS = WORKSPACES / "steps"
SEGMENT = Path("records") / "segments" / "segment-000001.jsonl"
CANDIDATE = "run:steps.candidate"
RUNS = ["run:steps.baseline", CANDIDATE]


def _read(root: Path, shapes: bool) -> dict[str, RunRecords]:
    reader = RecordReader(root / "records")
    if not shapes:
        reader._shapes.match = lambda line: None  # type: ignore[method-assign]
    return reader.read_runs([parse_run_ref(ref) for ref in RUNS])


def _steps_with_step_50_loss(tmp_path: Path, pattern: bytes, replacement: bytes) -> tuple[Path, int]:
    """A copy of the steps workspace whose 51st train-loss line (its shape learnt long before) is changed;
    the changed line's number."""
    root = tmp_path / "steps"
    shutil.copytree(STEPS, root)
    segment = root / SEGMENT
    lines = segment.read_bytes().split(b"\n")
    number = [
        index for index, line in enumerate(lines) if b'"metric_key":"train-loss"' in line and CANDIDATE.encode() in line
    ][50]
    changed = re.sub(pattern, lambda _: replacement, lines[number], count=1)
    assert changed != lines[number]
    lines[number] = changed
    segment.write_bytes(b"\n".join(lines))
    return root, number + 1


HUGE_INTEGERS = {
    "401 digits (overflows a float)": b"1" + b"0" * 400,
    "5000 digits (beyond int's digit limit)": b"1" * 5000,
}


@pytest.mark.parametrize("value", HUGE_INTEGERS.values(), ids=HUGE_INTEGERS.keys())
def test_an_integer_value_too_large_for_a_float_is_a_damaged_line_with_shapes_too(tmp_path: Path, value: bytes) -> None:
    root, number = _steps_with_step_50_loss(tmp_path, rb'"value":[^,]+', b'"value":' + value)

    decoded = _read(root, shapes=False)[CANDIDATE]  # parse_line: a damaged line, the gate fails closed
    assert [line.location.line for line in decoded.damaged] == [number]
    compact = _read(root, shapes=True)[CANDIDATE]  # bulk: OverflowError / ValueError out of LineShape.read
    assert [line.model_dump() for line in compact.damaged] == [line.model_dump() for line in decoded.damaged]
    assert list(compact.records) == list(decoded.records)


def test_a_sequence_beyond_a_signed_64_bit_integer_is_ambiguous_not_a_crash(tmp_path: Path) -> None:
    root, number = _steps_with_step_50_loss(tmp_path, rb'"sequence":\d+', b'"sequence":9223372036854775808')

    for shapes in (True, False):  # main reads it (later train-loss lines become ambiguous); bulk: OverflowError
        found = _read(root, shapes)[CANDIDATE]  # out of the array("q") of RunRecordList.sequences()
        assert any("does not follow sequence 9223372036854775808" in line.reason for line in found.damaged)
        assert any(f"line {number}" in note for note in found.notes)


@pytest.mark.parametrize(
    "change",
    [(rb'"value":[^,]+', b'"value":1' + b"0" * 400), (rb'"sequence":\d+', b'"sequence":99999999999999999999')],
    ids=["huge integer value", "20-digit sequence"],
)
def test_a_gate_over_such_a_line_fails_closed_without_an_internal_error(
    tmp_path: Path, change: tuple[bytes, bytes]
) -> None:
    root, _ = _steps_with_step_50_loss(tmp_path, *change)
    run, _ = read_like_a_gate(root, *RUNS[::-1])  # as a session reads them: any other exception is internal

    with pytest.raises(GateCheckFailed):
        assert_no_error_diagnostics(run)


def test_an_unreadable_index_line_is_still_noted_when_the_entries_agree(tmp_path: Path) -> None:
    root = tmp_path / "steps"
    shutil.copytree(STEPS, root)
    index = root / "records" / "indexes" / "run_ref" / "run__steps.candidate.jsonl"
    lines = index.read_bytes().split(b"\n")
    lines[9], lines[10] = lines[9] + b"\r" + lines[10], b"not an entry"  # entry 11 moved behind a CR; junk in its place
    index.write_bytes(b"\n".join(lines))

    found = _read(root, shapes=True)[CANDIDATE]  # main notes it; bulk's _index_agrees fast path returns [], []

    assert any("has unreadable lines" in note for note in found.notes)


def test_a_loaded_run_can_be_validated_again_as_a_plain_run_could() -> None:
    from pytest_contexta import Workspace
    from pytest_contexta.runs.models import ContextaRun

    workspace = Workspace(STEPS)
    try:
        run = workspace.load_run(CANDIDATE)
    finally:
        workspace.close()

    again = ContextaRun(**dict(run))  # main: fine; bulk: TypeError from pydantic's sequence validator

    assert again == run and list(again.records) == list(run.records)
