"""decide(facts): a table of what a session saw -> verdict, exit status and why (direct calls, no pytest run)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pytest_contexta.checks.results import CheckResult, ResultOutcome
from pytest_contexta.verdict.decide import PARTIAL_OPTION, decide
from pytest_contexta.verdict.facts import CheckOutcome, Crash, GateFacts
from pytest_contexta.verdict.waivers import Waiver

GOOD = "run:p.good"
A, B = f"t.py::a[{GOOD}]", f"t.py::b[{GOOD}]"
PASSED = {"setup": "passed", "call": "passed", "teardown": "passed"}
FAILED = {"setup": "passed", "call": "failed", "teardown": "passed"}
WAIVER = Waiver(line=1, check="t.py::b[*", candidate="good", reason="known", owner="ml", expires="2099-01-01")


def check(nodeid: str, phases: dict[str, str] = PASSED, **fields: object) -> CheckOutcome:
    return CheckOutcome(nodeid, GOOD, dict(phases), **fields)


def helper(outcome: ResultOutcome) -> tuple[CheckResult, ...]:
    return (CheckResult(kind="regression", detail="f1", run_ref=GOOD, outcome=outcome),)


def gate(*outcomes: CheckOutcome, **changes: object) -> GateFacts:
    """The candidate GOOD with these checks selected and reported, pytest exit 0, unless ``changes`` say otherwise."""
    facts = GateFacts(
        workspace="/ws",
        created_at="2026-01-01T00:00:00Z",
        exit_status=0,
        candidates=[GOOD],
        selected={o.nodeid: GOOD for o in outcomes},
        outcomes={o.nodeid: o for o in outcomes},
        today="2026-01-01",
    )
    return replace(facts, **changes)


def inconclusive_reason(policy: str, source: str) -> str:
    effect = "fails" if policy == "fail" else "passes"
    return (
        f"1 of 2 gate checks are inconclusive: the data cannot tell whether they hold "
        f"(--contexta-inconclusive={policy}, from {source}: the gate {effect})"
    )


LEFT_OUT = (
    f"the selection left gate checks out (1 gate checks deselected and not run): a gate runs every check; "
    f"pass {PARTIAL_OPTION} for a deliberate partial rerun"
)
NONE_RAN = (
    "none of its 2 gate checks ran (the partial selection left them all out): a candidate never passes on checks "
    "that did not run; select at least one of its checks, or leave the candidate out of --contexta-candidate"
)
SWALLOWED = f"a helper failed in {B} but the test passed (its AssertionError was caught): the helper's verdict counts"

CASES = {
    "pass": (gate(check(A), check(B)), "pass", "pass", 0, [], []),
    "pass with warnings: an advisory check failed": (
        gate(check(A), check(B, FAILED, advisory=True, message="AssertionError: slow")),
        "pass-with-warnings",
        "pass-with-warnings",
        0,
        [],
        [f"1 advisory gate check(s) did not pass: {B}"],
    ),
    "fail": (
        gate(check(A), check(B, FAILED, message="AssertionError: f1"), exit_status=1),
        "fail",
        "fail",
        1,
        ["1 of 2 gate checks did not pass"],
        [],
    ),
    "fail: a helper failed in a test that passed": (
        gate(check(A), check(B, results=helper("failed"))),
        "fail",
        "fail",
        1,
        ["1 of 2 gate checks did not pass", SWALLOWED],
        [],
    ),
    "inconclusive under the policy fail": (
        gate(check(A), check(B, FAILED, results=helper("inconclusive")), exit_status=1),
        "inconclusive",
        "inconclusive",
        1,
        [inconclusive_reason("fail", "default")],
        [],
    ),
    "inconclusive under the policy pass": (
        gate(
            check(A), check(B, results=helper("inconclusive")), inconclusive="pass", inconclusive_source="command line"
        ),
        "inconclusive",
        "inconclusive",
        0,
        [inconclusive_reason("pass", "command line")],
        [],
    ),
    "partial run not allowed": (
        gate(check(A), check(B), deselected={f"t.py::c[{GOOD}]": GOOD}),
        "fail",
        "fail",
        1,
        [LEFT_OUT],
        [],
    ),
    "partial run allowed": (
        gate(check(A), check(B), deselected={f"t.py::c[{GOOD}]": GOOD}, allow_partial=True),
        "pass",
        "pass",
        0,
        [],
        [],
    ),
    "partial run allowed, none of the candidate's checks ran": (
        gate(deselected={A: GOOD, B: GOOD}, allow_partial=True, exit_status=int(pytest.ExitCode.NO_TESTS_COLLECTED)),
        "fail",
        "fail",
        1,
        [NONE_RAN],
        [],
    ),
    "waived": (
        gate(check(A), check(B, FAILED, waiver=WAIVER, message="AssertionError: f1"), waivers=[WAIVER]),
        "pass-with-warnings",
        "pass-with-warnings",
        0,
        [],
        [f"WAIVED {B}: owner ml, expires 2099-01-01 (waiver line 1): known"],
    ),
    "no checks": (
        gate(exit_status=int(pytest.ExitCode.NO_TESTS_COLLECTED)),
        "fail",
        "fail",
        1,
        ["no gate check ran for this candidate: none was collected — check the path"],
        [],
    ),
    "usage error": (
        gate(check(A), check(B), usage_errors=["a gate hook was registered too late"]),
        "fail",
        "fail",
        4,
        ["a gate hook was registered too late"],
        [],
    ),
    "a worker crashed in a check": (
        gate(
            check(A),
            selected={A: GOOD, B: GOOD},
            crashes=[Crash("gw1", B, "Not properly terminated")],
            exit_status=1,
        ),
        "fail",
        "fail",
        1,
        [f"xdist worker gw1 crashed while running {B}: Not properly terminated", "1 of 2 gate checks did not pass"],
        [],
    ),
}


@pytest.mark.parametrize(
    ("facts", "verdict", "candidate_verdict", "exit_status", "reasons", "warnings"),
    list(CASES.values()),
    ids=list(CASES),
)
def test_facts_decide_the_verdict(
    facts: GateFacts,
    verdict: str,
    candidate_verdict: str,
    exit_status: int,
    reasons: list[str],
    warnings: list[str],
) -> None:
    report = decide(facts)
    (candidate,) = report.candidates
    assert (report.verdict, candidate.verdict, report.exit_status) == (verdict, candidate_verdict, exit_status)
    assert (candidate.reasons, candidate.warnings) == (reasons, warnings)


def test_deciding_twice_gives_the_same_report_and_changes_no_fact() -> None:
    facts = CASES["a worker crashed in a check"][0]
    before = replace(facts, outcomes=dict(facts.outcomes), selected=dict(facts.selected))
    assert decide(facts) == decide(facts)
    assert facts == before


def test_a_partial_run_of_one_candidate_fails_the_other_whose_checks_all_were_left_out() -> None:
    """-k "good]" with two candidates: the other candidate ran nothing, so it fails, and so does the gate."""
    other = "run:p.other"
    facts = gate(
        check(A),
        check(B),
        candidates=[GOOD, other],
        deselected={f"t.py::a[{other}]": other, f"t.py::b[{other}]": other},
        allow_partial=True,
    )
    report = decide(facts)
    assert [(c.run_ref, c.verdict) for c in report.candidates] == [(GOOD, "pass"), (other, "fail")]
    assert report.candidates[1].reasons == [NONE_RAN]
    assert (report.verdict, report.exit_status) == ("fail", 1)
