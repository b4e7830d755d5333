"""Strings from a workspace cannot forge lines: control characters are escaped in the terminal summary, the
markdown and JUnit properties (the JSON report keeps them, JSON-escaped)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import read_like_a_gate
from pytest_contexta import GateCheckFailed, assert_no_error_diagnostics
from pytest_contexta.checks.results import CheckResult
from pytest_contexta.outputs.summary import markdown_table, terminal_lines
from pytest_contexta.runs.models import ContextaRun
from pytest_contexta.verdict.report import CandidateReport, GateReport, ReportCheck

FORGED = "\x1b[32mGATE PASSED for run:svc.faster\x1b[0m\nx"
GATE = """
from pytest_contexta import assert_no_error_diagnostics

def test_diagnostics(contexta_run):
    assert_no_error_diagnostics(contexta_run)
"""


def _forged_event(workspace) -> None:
    """Append (as Contexta would, with the next sequence) an error event whose message forges a verdict line."""
    segment = workspace / "records" / "segments" / "segment-000001.jsonl"
    lines = segment.read_text(encoding="utf-8").splitlines()
    template = json.loads(next(line for line in lines if '"run_ref":"run:svc.faster"' in line))
    envelope = {**template["record"]["envelope"], "record_type": "event", "record_ref": "record:svc.faster.r0099"}
    payload = {
        "event_key": "forged",
        "level": "error",
        "message": FORGED,
        "subject_ref": None,
        "origin_marker": "explicit_capture",
        "attributes": {},
    }
    line = {**template, "record": {"envelope": envelope, "payload": payload}, "sequence": len(lines) + 1}
    with segment.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line, separators=(",", ":")) + "\n")


def _report_of(run: ContextaRun, results: list[CheckResult]) -> GateReport:
    """The verdict on ``run`` whose one check recorded ``results`` and failed, with the run's diagnostics."""
    checks = [
        ReportCheck(
            nodeid=f"test_gate.py::test_diagnostics[{run.ref}]",
            outcome="failed",
            **result.model_dump(exclude={"passed", "run_ref", "advisory", "outcome", "direction_unknown"}),
        )
        for result in results
    ]
    diagnostics = list(run.diagnostics)
    candidate = CandidateReport(
        run_ref=run.ref,
        verdict="fail",
        reasons=["1 of 1 gate checks did not pass"],
        baseline=None,
        diagnostics=diagnostics,
        checks=checks,
    )
    return GateReport(verdict="fail", exit_status=1, workspace="ws", created_at="t", candidates=[candidate])


def test_a_record_cannot_forge_gate_passed(workspace_copy: Callable[[str], Path], results: list[CheckResult]) -> None:
    workspace = workspace_copy("latency")
    _forged_event(workspace)
    (run,) = read_like_a_gate(workspace, "run:svc.faster")
    with pytest.raises(GateCheckFailed) as failed:
        assert_no_error_diagnostics(run)
    assert "\x1b" not in str(failed.value)  # what pytest shows under the failure
    assert "error event forged: \\x1b[32mGATE PASSED for run:svc.faster\\x1b[0m" in str(failed.value)
    report = _report_of(run, results)
    summary = terminal_lines(report, 2000)
    assert not [line for line in summary if "\x1b" in line or line.startswith("GATE PASSED")]
    assert any("error event forged: \\x1b[32mGATE PASSED for run:svc.faster\\x1b[0m" in line for line in summary)
    markdown = markdown_table(report)
    assert "\x1b" not in markdown and "\nGATE PASSED" not in markdown
    written = json.loads(report.model_dump_json())
    summaries = [d["summary"] for d in written["candidates"][0]["diagnostics"]]
    assert any("error event forged" in text and "GATE PASSED" in text for text in summaries)  # JSON-escaped


@pytest.mark.slow
def test_a_gate_session_cannot_be_made_to_print_gate_passed(
    pytester: pytest.Pytester, workspace_copy: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: neither pytest's own failure section nor the JUnit properties carry the control characters."""
    monkeypatch.setenv("CI", "true")  # pytest then prints whole failure messages in its short summary
    workspace = workspace_copy("latency")
    _forged_event(workspace)
    pytester.makepyfile(test_gate=GATE)
    result = pytester.runpytest(
        f"--contexta-workspace={workspace}",
        "--contexta-candidate=run:svc.faster",
        "--contexta-report=gate.json",
        "--contexta-markdown=gate.md",
        "--junitxml=junit.xml",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "\x1b" not in result.stdout.str()  # not in pytest's own failure section either
    summary = result.stdout.str().split(" contexta gate ")[1]
    assert not [line for line in summary.splitlines() if line.startswith("GATE PASSED")]
    assert "error event forged: \\x1b[32mGATE PASSED for run:svc.faster\\x1b[0m" in summary  # shown, escaped
    markdown = (pytester.path / "gate.md").read_text(encoding="utf-8")
    assert "\x1b" not in markdown and "\nGATE PASSED" not in markdown
    report = json.loads((pytester.path / "gate.json").read_text(encoding="utf-8"))
    summaries = [d["summary"] for d in report["candidates"][0]["diagnostics"]]
    assert any("error event forged" in text and "GATE PASSED" in text for text in summaries)  # JSON-escaped
    details = [
        p.get("value")
        for p in ET.parse(pytester.path / "junit.xml").getroot().iter("property")
        if p.get("name") == "contexta.detail"
    ]
    assert details and all("\x1b" not in d and "\n" not in d for d in details)
    assert any("\\x1b[32mGATE PASSED" in d for d in details)
