"""A test id on the command line selects only some gate checks, and that fails the gate like -k does
(found by a hostile review: ``pytest gates/test_gate.py::test_a`` passed a candidate whose test_b fails)."""

from __future__ import annotations

import json

import pytest

from conftest import WORKSPACES

pytestmark = pytest.mark.slow

LATENCY = WORKSPACES / "latency"
CANDIDATE = "run:svc.faster"
GATE = """
def test_a(contexta_run):
    pass

def test_b(contexta_run):
    assert False, "b failed"
"""


def _gate(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict]:
    result = pytester.runpytest(
        f"--contexta-workspace={LATENCY}", f"--contexta-candidate={CANDIDATE}", "--contexta-report=gate.json", *args
    )
    return result, json.loads((pytester.path / "gate.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("test_id", ["test_gate.py::test_a", f"test_gate.py::test_a[{CANDIDATE}]"])
def test_a_test_id_on_the_command_line_leaves_the_other_checks_out(pytester: pytest.Pytester, test_id: str) -> None:
    pytester.makepyfile(test_gate=GATE)
    result, report = _gate(pytester, test_id)
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # was 0: test_b was never collected, so never counted
    assert report["verdict"] == "fail"
    result.stdout.fnmatch_lines(
        [
            f"GATE FAILED for run:svc.faster: the selection left gate checks out (the test id {test_id} on the "
            f"command line): a gate runs every check; pass --contexta-allow-partial for a deliberate partial rerun"
        ]
    )
    allowed, report = _gate(pytester, test_id, "--contexta-allow-partial")
    assert allowed.ret == pytest.ExitCode.OK
    assert report["notes"] == [f"partial run (--contexta-allow-partial): the test id {test_id} on the command line"]


def test_a_path_on_the_command_line_is_the_whole_gate(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_gate=GATE.replace('assert False, "b failed"', "pass"))
    result, _ = _gate(pytester, "test_gate.py")
    assert result.ret == pytest.ExitCode.OK
