"""Three ways a gate used to pass a regressed candidate (found by a hostile review): a check that catches its
helper's AssertionError, a conftest that drops checks from the session without deselecting them, and an empty
candidate among several."""

from __future__ import annotations

import json

import pytest

from conftest import WORKSPACES

pytestmark = pytest.mark.slow  # what gate sessions make of checks that hide failures: pytest integration

LATENCY = WORKSPACES / "latency"
CANDIDATE = "run:svc.slower"  # its latency regressed against the deployed baseline
REGRESSION = """
from pytest_contexta import assert_no_regression

def test_latency(contexta_run, baseline_run):
    assert_no_regression(contexta_run, baseline_run, "latency-p95-ms", stage="evaluate", confidence=None)
"""


def _gate(pytester: pytest.Pytester, *args: str, candidate: str = CANDIDATE) -> tuple[pytest.RunResult, dict]:
    result = pytester.runpytest(
        f"--contexta-workspace={LATENCY}", f"--contexta-candidate={candidate}", "--contexta-report=gate.json", *args
    )
    return result, json.loads((pytester.path / "gate.json").read_text(encoding="utf-8"))


def test_the_regression_fails_as_written(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_gate=REGRESSION)
    result, report = _gate(pytester)
    assert result.ret == pytest.ExitCode.TESTS_FAILED and report["verdict"] == "fail"


@pytest.mark.parametrize("plugin_args", [[], ["-n", "2"]], ids=["plain", "xdist"])
def test_a_check_that_swallows_its_helpers_failure_does_not_pass(
    pytester: pytest.Pytester, plugin_args: list[str]
) -> None:
    swallowing = REGRESSION.replace(
        '    assert_no_regression(contexta_run, baseline_run, "latency-p95-ms", stage="evaluate", confidence=None)',
        "    try:\n"
        '        assert_no_regression(contexta_run, baseline_run, "latency-p95-ms", stage="evaluate",'
        " confidence=None)\n"
        "    except AssertionError:\n"
        "        pass",
    )
    pytester.makepyfile(test_gate=swallowing)
    result, report = _gate(pytester, *plugin_args)
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # pytest itself saw a passing test
    result.assert_outcomes(passed=1)
    (candidate,) = report["candidates"]
    assert report["verdict"] == candidate["verdict"] == "fail"
    assert any("but the test passed (its AssertionError was caught)" in reason for reason in candidate["reasons"])
    assert [check["outcome"] for check in candidate["checks"]] == ["failed"]


@pytest.mark.parametrize("plugin_args", [[], ["-n", "2"]], ids=["plain", "xdist"])
def test_checks_a_hook_drops_from_the_session_are_left_out(pytester: pytest.Pytester, plugin_args: list[str]) -> None:
    pytester.makepyfile(test_gate=REGRESSION + "\n\ndef test_present(contexta_run):\n    pass\n")
    pytester.makeconftest("""
def pytest_collection_modifyitems(items):
    items[:] = [item for item in items if "test_latency" not in item.nodeid]  # no pytest_deselected call
""")
    result, report = _gate(pytester, *plugin_args)
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # was 0: the regressed check vanished uncounted
    (candidate,) = report["candidates"]
    assert any(
        "the selection left gate checks out (1 gate checks deselected and not run)" in reason
        for reason in candidate["reasons"]
    )


@pytest.mark.parametrize(
    "given",
    [("--contexta-candidate=svc.faster", "--contexta-candidate= "), ("--contexta-candidate=run:svc.faster,,",)],
    ids=["repeated", "comma"],
)
def test_an_empty_candidate_among_others_is_a_usage_error(pytester: pytest.Pytester, given: tuple[str, ...]) -> None:
    pytester.makepyfile(test_gate="def test_ok(contexta_run):\n    pass\n")
    result = pytester.runpytest(f"--contexta-workspace={LATENCY}", *given)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: contexta candidate * names no run in one of its parts: *"])
