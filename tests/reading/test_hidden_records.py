"""Records hidden from the reader (issue 22, item 1): lines of a run that the byte search of :mod:`.pieces` could
miss, and lines whose ``run_ref`` key is given twice. What the reader finds for a run must be what ``json.loads`` of
every line and the envelope's ``run_ref`` give."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import WORKSPACES, read_like_a_gate
from pytest_contexta import GateCheckFailed, assert_no_error_diagnostics
from pytest_contexta.reading.refs import parse_run_ref
from pytest_contexta.reading.segments import RecordReader

STEPS = WORKSPACES / "steps"
SEGMENT = Path("records") / "segments" / "segment-000001.jsonl"
CANDIDATE = "run:steps.candidate"
BASELINE = "run:steps.baseline"


def _lines(root: Path) -> list[bytes]:
    return (root / SEGMENT).read_bytes().rstrip(b"\n").split(b"\n")


def _candidate_error(lines: list[bytes], sequence: int) -> dict:
    """The candidate's checkpoint event, made an error event with a record_ref and sequence of its own."""
    document = json.loads(
        next(line for line in lines if b'"training.checkpoint"' in line and CANDIDATE.encode() in line)
    )
    envelope, payload = document["record"]["envelope"], document["record"]["payload"]
    envelope["record_ref"] = "record:steps.candidate.hidden"
    payload.update(event_key="training.crash", level="error", message="training crashed")
    document["sequence"] = sequence
    return document


def _baseline_metric(lines: list[bytes], sequence: int, tags: dict[str, str]) -> dict:
    """The baseline's first train-loss line, with ``tags`` and a record_ref and sequence of its own."""
    document = json.loads(next(line for line in lines if b'"train-loss"' in line and BASELINE.encode() in line))
    document["record"]["envelope"]["record_ref"] = "record:steps.baseline.balance"
    document["record"]["payload"]["tags"] = tags
    document["sequence"] = sequence
    return document


def _compact(document: dict) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def _balanced_attack(tmp_path: Path, drop_index: bool = False) -> Path:
    """The steps workspace with the candidate's error event, its key spelled ``"\\u0072un_ref"``, balanced by a
    baseline metric whose tag named ``run_ref`` holds the candidate's ref: lines, canonical fields and keys agree."""
    root = tmp_path / "steps"
    shutil.copytree(STEPS, root)
    lines = _lines(root)
    hidden = _compact(_candidate_error(lines, len(lines) + 1)).replace(b'"run_ref"', b'"\\u0072un_ref"')
    balance = _compact(_baseline_metric(lines, len(lines) + 2, {"run_ref": CANDIDATE}))
    assert json.loads(hidden)["record"]["envelope"]["run_ref"] == CANDIDATE
    (root / SEGMENT).write_bytes(b"\n".join([*lines, hidden, balance]) + b"\n")
    if drop_index:
        shutil.rmtree(root / "records" / "indexes")
    return root


@pytest.mark.parametrize("drop_index", [False, True], ids=["index present", "index missing"])
def test_an_error_event_with_an_escaped_run_ref_key_is_read_and_fails_the_gate(
    tmp_path: Path, drop_index: bool
) -> None:
    root = _balanced_attack(tmp_path, drop_index)
    candidate, _ = read_like_a_gate(root, CANDIDATE, BASELINE)

    assert "record:steps.candidate.hidden" in {record.ref for record in candidate.records}
    with pytest.raises(GateCheckFailed, match="training.crash"):
        assert_no_error_diagnostics(candidate)


def test_the_balancing_metric_stays_the_baselines(tmp_path: Path) -> None:
    root = _balanced_attack(tmp_path)
    found = RecordReader(root / "records").read_runs([parse_run_ref(CANDIDATE), parse_run_ref(BASELINE)])

    assert "record:steps.baseline.balance" in {record.ref for record in found[BASELINE].records}
    assert "record:steps.baseline.balance" not in {record.ref for record in found[CANDIDATE].records}


@pytest.mark.parametrize("last", [CANDIDATE, BASELINE], ids=["candidate's last", "baseline's last"])
def test_a_line_giving_run_ref_twice_is_damaged_and_counts_against_every_run(tmp_path: Path, last: str) -> None:
    root = tmp_path / "steps"
    shutil.copytree(STEPS, root)
    lines = _lines(root)
    first = BASELINE if last == CANDIDATE else CANDIDATE
    twice = _compact(_candidate_error(lines, len(lines) + 1)).replace(
        f'"run_ref":"{CANDIDATE}"'.encode(), f'"run_ref":"{first}","run_ref":"{last}"'.encode()
    )
    assert json.loads(twice)["record"]["envelope"]["run_ref"] == last
    (root / SEGMENT).write_bytes(b"\n".join([*lines, twice]) + b"\n")

    found = RecordReader(root / "records").read_runs([parse_run_ref(CANDIDATE), parse_run_ref(BASELINE)])

    for run in (CANDIDATE, BASELINE):
        assert "record:steps.candidate.hidden" not in {record.ref for record in found[run].records}
        (line,) = [line for line in found[run].damaged if line.location.line == len(lines) + 1]
        assert line.run_ref is None
        assert "'run_ref' is given twice" in line.reason


GATE = """
from pytest_contexta import assert_no_error_diagnostics

def test_diagnostics(contexta_run):
    assert_no_error_diagnostics(contexta_run)
"""


@pytest.mark.slow
@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
@pytest.mark.parametrize("drop_index", [False, True], ids=["index present", "index missing"])
def test_a_gate_session_over_the_balanced_attack_fails(
    pytester: pytest.Pytester, tmp_path: Path, xdist: list[str], drop_index: bool
) -> None:
    """End to end: the issue's attack made the gate pass, with the index dropped or not, serial and under -n 2."""
    root = _balanced_attack(tmp_path, drop_index)
    pytester.makepyfile(test_gate=GATE)
    report = pytester.path / "gate.json"
    result = pytester.runpytest(
        f"--contexta-workspace={root}", f"--contexta-candidate={CANDIDATE}", f"--contexta-report={report}", *xdist
    )

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert json.loads(report.read_text(encoding="utf-8"))["verdict"] == "fail"
    assert "training.crash" in result.stdout.str()
