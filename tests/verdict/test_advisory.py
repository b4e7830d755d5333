"""Advisory checks: the contexta_advisory marker and advisory=True; pass-with-warnings; --contexta-fail-on."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from conftest import EXAMPLE_WORKSPACE
from pytest_contexta.verdict.decide import decide
from pytest_contexta.verdict.facts import CheckOutcome, GateFacts
from pytest_contexta.verdict.waivers import Waiver

pytestmark = pytest.mark.slow

REGRESSED = "run:product-ranker.candidate-v4-regressed"
FASTER = "run:product-ranker.candidate-v6-faster"

# For candidate-v4-regressed: accuracy regresses (an advisory test) and latency 42.5 is above the
# advisory budget of 40 (an advisory call) but within the blocking 100; for candidate-v6-faster all pass.
GATE = """
import pytest
from pytest_contexta import assert_metric_threshold, assert_no_error_diagnostics, assert_no_regression

def test_diagnostics(contexta_run):
    assert_no_error_diagnostics(contexta_run)

@pytest.mark.contexta_advisory
def test_accuracy(contexta_run, baseline_run):
    assert_no_regression(contexta_run, baseline_run, "accuracy", stage="evaluate")

def test_latency(contexta_run):
    assert_metric_threshold(contexta_run, "latency-p95-ms", at_most=40, stage="evaluate", advisory=True)
    assert_metric_threshold(contexta_run, "latency-p95-ms", at_most=100, stage="evaluate")
"""
BLOCKING_AUC = """

def test_auc(contexta_run, baseline_run):
    assert_no_regression(contexta_run, baseline_run, "auc", stage="evaluate")
"""


def run_gate(pytester: pytest.Pytester, candidate: str, *args: str) -> pytest.RunResult:
    return pytester.runpytest(
        f"--contexta-workspace={EXAMPLE_WORKSPACE}",
        f"--contexta-candidate={candidate}",
        "--contexta-report=gate.json",
        *args,
    )


def report_of(pytester: pytest.Pytester) -> dict:
    return json.loads((pytester.path / "gate.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["plain", "xdist"])
def test_advisory_checks_that_do_not_pass_give_pass_with_warnings_and_exit_0(
    pytester: pytest.Pytester, xdist: list[str]
) -> None:
    pytester.makepyfile(test_gate=GATE)
    result = run_gate(pytester, REGRESSED, "--contexta-markdown=gate.md", "--junitxml=gate.xml", *xdist)

    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=2, xfailed=1)  # pytest never calls the advisory failure passed
    report = report_of(pytester)
    (candidate,) = report["candidates"]
    assert (report["verdict"], candidate["verdict"], candidate["reasons"]) == (
        "pass-with-warnings",
        "pass-with-warnings",
        [],
    )
    outcomes = [(c["nodeid"].split("::")[1].split("[")[0], c["outcome"], c["advisory"]) for c in candidate["checks"]]
    assert outcomes == [
        ("test_diagnostics", "passed", False),
        ("test_accuracy", "warning", True),
        ("test_latency", "warning", True),
        ("test_latency", "passed", False),
    ]
    assert candidate["warnings"] == [
        f"2 advisory gate check(s) did not pass: test_gate.py::test_accuracy[{REGRESSED}], "
        f"test_gate.py::test_latency[{REGRESSED}]"
    ]
    result.stdout.fnmatch_lines(
        [
            "test_accuracy * WARN * accuracy @evaluate *",
            "test_latency * WARN * latency-p95-ms @evaluate *",
            f"GATE PASSED WITH WARNINGS for {REGRESSED}: 2 advisory gate check(s) did not pass: *",
        ]
    )
    markdown = (pytester.path / "gate.md").read_text(encoding="utf-8")
    assert "## Contexta deployment gate: ⚠️ pass-with-warnings" in markdown
    assert "**Warnings:** 2 advisory gate check(s) did not pass" in markdown
    assert "| WARN " in markdown
    junit = ET.parse(pytester.path / "gate.xml").getroot()
    assert {
        p.get("name"): p.get("value")
        for p in junit.iter("property")
        if p.get("name", "").startswith("contexta.verdict")
    } == {"contexta.verdict": "pass-with-warnings", f"contexta.verdict.{REGRESSED}": "pass-with-warnings"}
    (accuracy,) = [case for case in junit.iter("testcase") if case.get("name", "").startswith("test_accuracy")]
    assert ("contexta.outcome", "warning") in [(p.get("name"), p.get("value")) for p in accuracy.iter("property")]
    assert accuracy.find("skipped") is not None and accuracy.find("failure") is None


def test_a_candidate_whose_advisory_checks_pass_simply_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_gate=GATE)
    result = run_gate(pytester, FASTER)
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=3)
    report = report_of(pytester)
    assert (report["verdict"], report["candidates"][0]["warnings"]) == ("pass", [])
    result.stdout.fnmatch_lines([f"GATE PASSED for {FASTER}"])


def test_a_blocking_failure_still_fails_and_the_warnings_are_listed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_gate=GATE + BLOCKING_AUC)
    result = run_gate(pytester, REGRESSED)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    (candidate,) = report_of(pytester)["candidates"]
    assert candidate["verdict"] == "fail"
    assert candidate["reasons"] == ["1 of 4 gate checks did not pass"]
    result.stdout.fnmatch_lines(
        [
            "warning:   2 advisory gate check(s) did not pass: *",
            f"GATE FAILED for {REGRESSED}: 1 of 4 gate checks did not pass",
        ]
    )


@pytest.mark.parametrize(
    ("source", "header"), [("option", "command line"), ("env", "env CONTEXTA_FAIL_ON"), ("ini", "ini contexta_fail_on")]
)
@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["plain", "xdist"])
def test_fail_on_warning_makes_warnings_fail_the_gate(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, source: str, header: str, xdist: list[str]
) -> None:
    pytester.makepyfile(test_gate=GATE)
    args = list(xdist)
    if source == "option":
        args.append("--contexta-fail-on=warning")
    elif source == "env":
        monkeypatch.setenv("CONTEXTA_FAIL_ON", "warning")
    else:
        pytester.makeini("[pytest]\ncontexta_fail_on = warning\n")
    result = run_gate(pytester, REGRESSED, *args)

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    (candidate,) = report_of(pytester)["candidates"]
    assert candidate["verdict"] == "fail"
    assert candidate["reasons"] == ["2 advisory gate check(s) did not pass and --contexta-fail-on is warning"]
    result.stdout.fnmatch_lines(
        [
            f"contexta fail_on: warning (from {header})",
            f"GATE FAILED for {REGRESSED}: 2 advisory gate check(s) did not pass and *",
        ]
    )


def test_fail_on_warning_passes_a_candidate_without_warnings(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_gate=GATE)
    assert run_gate(pytester, FASTER, "--contexta-fail-on=warning").ret == pytest.ExitCode.OK


def test_a_bad_fail_on_value_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_gate=GATE)
    result = run_gate(pytester, REGRESSED, "--contexta-fail-on=warnings")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: contexta fail-on 'warnings' (from command line) must be one of failure, warning"]
    )
    assert report_of(pytester)["verdict"] == "fail"


def test_the_marker_is_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.contexta_advisory: a gate check that only warns*"])


def test_an_advisory_check_that_errors_at_setup_is_a_warning(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_gate="""
        import pytest

        @pytest.fixture
        def broken():
            raise RuntimeError("dashboard down")

        def test_fine(contexta_run):
            pass

        @pytest.mark.contexta_advisory
        def test_dashboard(contexta_run, broken):
            pass
    """
    )
    result = run_gate(pytester, FASTER)
    assert result.ret == pytest.ExitCode.OK
    (candidate,) = report_of(pytester)["candidates"]
    assert [(c["outcome"], c["detail"]) for c in candidate["checks"]] == [
        ("passed", "passed"),
        ("warning", "RuntimeError: dashboard down"),
    ]


def _facts(candidates: dict[str, str]) -> GateFacts:
    """One check per candidate whose call phase ended as given; the first is marked advisory."""
    outcomes = {
        f"t.py::a[{ref}]": CheckOutcome(
            f"t.py::a[{ref}]", ref, {"setup": "passed", "call": call, "teardown": "passed"}, advisory=index == 0
        )
        for index, (ref, call) in enumerate(candidates.items())
    }
    return GateFacts(
        workspace="/ws",
        created_at="2026-01-01T00:00:00Z",
        exit_status=1 if "failed" in list(candidates.values())[1:] else 0,
        candidates=list(candidates),
        selected={n: o.candidate for n, o in outcomes.items()},
        outcomes=outcomes,
    )


def test_verdict_precedence_fail_over_pass_with_warnings_over_pass() -> None:
    warned = decide(_facts({"run:p.a": "failed", "run:p.b": "passed"}))
    assert [c.verdict for c in warned.candidates] == ["pass-with-warnings", "pass"]
    assert (warned.verdict, warned.exit_status) == ("pass-with-warnings", 0)
    failed = decide(_facts({"run:p.a": "failed", "run:p.b": "failed"}))
    assert [c.verdict for c in failed.candidates] == ["pass-with-warnings", "fail"]
    assert (failed.verdict, failed.exit_status) == ("fail", 1)
    assert decide(_facts({"run:p.a": "passed", "run:p.b": "passed"})).verdict == "pass"


WAIVER = Waiver(line=1, check="*", candidate="*", reason="r", owner="o", expires="2027-01-01")


@pytest.mark.parametrize(
    ("phases", "advisory", "waiver", "outcome"),
    [
        ({"setup": "passed", "call": "failed", "teardown": "passed"}, True, None, "warning"),
        ({"setup": "failed"}, True, None, "warning"),
        ({"setup": "passed", "call": "passed", "teardown": "passed"}, True, None, "passed"),
        ({"setup": "passed", "call": "failed", "teardown": "passed"}, False, WAIVER, "waived"),
        ({"setup": "passed", "call": "failed", "teardown": "passed"}, True, WAIVER, "waived"),
        (
            {"setup": "passed", "call": "failed", "teardown": "failed"},
            False,
            WAIVER,
            "error",
        ),  # errors are never waived
        ({"setup": "passed", "call": "failed", "teardown": "passed"}, False, None, "failed"),
    ],
)
def test_how_advisory_and_waived_checks_read(
    phases: dict[str, str], advisory: bool, waiver: Waiver | None, outcome: str
) -> None:
    assert CheckOutcome("n", "run:p.a", phases, advisory=advisory, waiver=waiver).outcome == outcome
