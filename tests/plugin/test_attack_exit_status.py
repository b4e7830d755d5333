"""A conftest cannot turn a failed gate into exit 0 by rewriting pytest's exit status (found by a hostile review).

The snippet below is common in CI conftests ("no tests collected is fine"). It ran after the gate had
decided, so a gate with no check printed ``GATE FAILED`` and wrote ``"verdict": "fail"`` but exited 0.
"""

from __future__ import annotations

import json

import pytest

from conftest import WORKSPACES

pytestmark = pytest.mark.slow

LATENCY = WORKSPACES / "latency"
CANDIDATE = "run:svc.faster"
FORGIVE_NO_TESTS = """
def pytest_sessionfinish(session, exitstatus):
    if exitstatus == 5:
        session.exitstatus = 0
"""
ALWAYS_ZERO = """
import pytest

@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    session.exitstatus = 0
"""
GATE = """
def test_a(contexta_run):
    assert False, "a failed"
"""


def _gate(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict]:
    result = pytester.runpytest(
        f"--contexta-workspace={LATENCY}", f"--contexta-candidate={CANDIDATE}", "--contexta-report=gate.json", *args
    )
    return result, json.loads((pytester.path / "gate.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("hook", "args", "tests"),
    [
        (FORGIVE_NO_TESTS, ["-k", "nothing-matches"], {"test_gate": GATE}),
        (FORGIVE_NO_TESTS, [], {"helper": "VALUE = 1\n"}),
        (ALWAYS_ZERO, [], {"test_gate": GATE}),
    ],
    ids=["deselected-all", "no-test-at-all", "failed-check"],
)
def test_a_conftest_that_rewrites_the_exit_status_cannot_pass_a_failed_gate(
    pytester: pytest.Pytester, hook: str, args: list[str], tests: dict[str, str]
) -> None:
    pytester.makeconftest(hook)
    pytester.makepyfile(**tests)
    result, report = _gate(pytester, *args)
    assert report["verdict"] == "fail"
    assert result.ret == report["exit_status"] == pytest.ExitCode.TESTS_FAILED  # was 0
    result.stdout.fnmatch_lines(
        [
            "contexta: a pytest_sessionfinish hook set the exit status to 0 after the gate failed; "
            "the gate's exit status 1 stands"
        ]
    )


def test_a_conftest_may_still_raise_the_exit_status_of_a_failed_gate(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("def pytest_sessionfinish(session):\n    session.exitstatus = 3\n")
    pytester.makepyfile(test_gate=GATE)
    result, _ = _gate(pytester)
    assert result.ret == 3
    assert "the gate's exit status" not in result.stdout.str()
