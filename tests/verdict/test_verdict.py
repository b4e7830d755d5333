"""verdict.decide(): the final verdict as a pure function of what the session saw (no pytest run)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from pytest_contexta.runs.models import BaselineChoice, Diagnostic
from pytest_contexta.verdict.decide import PARTIAL_OPTION, decide
from pytest_contexta.verdict.facts import CheckOutcome, Crash, GateFacts, RunFacts
from pytest_contexta.verdict.report import GateReport

GOOD = "run:p.good"
OTHER = "run:p.other"
PASSED = {"setup": "passed", "call": "passed", "teardown": "passed"}
FAILED = {"setup": "passed", "call": "failed", "teardown": "passed"}


def facts(**changes: object) -> GateFacts:
    """Two gate checks of GOOD, both passed, pytest exit 0: a passing gate unless a test changes it."""
    base = GateFacts(
        workspace="/ws",
        created_at="2026-01-01T00:00:00Z",
        exit_status=0,
        candidates=[GOOD],
        selected={"t.py::a[run:p.good]": GOOD, "t.py::b[run:p.good]": GOOD},
        outcomes={n: CheckOutcome(n, GOOD, dict(PASSED)) for n in ("t.py::a[run:p.good]", "t.py::b[run:p.good]")},
    )
    for name, value in changes.items():
        setattr(base, name, value)
    return base


def test_every_check_passed_and_pytest_exits_zero_passes() -> None:
    report = decide(facts(baselines={GOOD: BaselineChoice(run_ref=OTHER, reason="why")}))
    assert (report.verdict, report.exit_status, report.error) == ("pass", 0, None)
    assert report.candidates[0].baseline.run_ref == OTHER
    assert [c.outcome for c in report.candidates[0].checks] == ["passed", "passed"]


def test_pytest_exit_status_other_than_zero_fails_the_gate_even_when_checks_passed() -> None:
    report = decide(facts(exit_status=1))
    assert (report.verdict, report.exit_status, report.candidates[0].verdict) == ("fail", 1, "pass")


def test_deselected_checks_fail_the_gate_unless_a_partial_run_is_allowed() -> None:
    left_out = {"t.py::c[run:p.good]": GOOD}
    strict = decide(facts(deselected=left_out))
    assert (strict.verdict, strict.exit_status) == ("fail", 1)
    assert strict.candidates[0].reasons == [
        f"the selection left gate checks out (1 gate checks deselected and not run): a gate runs every check; "
        f"pass {PARTIAL_OPTION} for a deliberate partial rerun"
    ]
    partial = decide(facts(deselected=left_out, allow_partial=True))
    assert (partial.verdict, partial.exit_status) == ("pass", 0)
    assert partial.notes == [f"partial run ({PARTIAL_OPTION}): 1 gate checks deselected and not run"]


def test_options_that_drop_checks_uncounted_fail_the_gate() -> None:
    report = decide(facts(left_out=["--ignore=gates/slow"]))
    assert report.verdict == "fail"
    assert "--ignore=gates/slow" in report.candidates[0].reasons[0]


def test_a_worker_crash_names_the_worker_and_the_check() -> None:
    crashed = "t.py::b[run:p.good]"
    outcomes = facts().outcomes
    del outcomes[crashed]
    report = decide(facts(outcomes=outcomes, exit_status=1, crashes=[Crash("gw1", crashed, "Not properly terminated")]))
    reasons = report.candidates[0].reasons
    assert reasons[0] == f"xdist worker gw1 crashed while running {crashed}: Not properly terminated"
    assert "1 of 2 gate checks did not pass" in reasons
    assert not any("none was collected" in reason for reason in reasons)
    (check,) = [c for c in report.candidates[0].checks if c.nodeid == crashed]
    assert (check.outcome, check.detail) == ("failed", "Not properly terminated")


def test_a_crash_before_any_report_still_names_its_cause() -> None:
    report = decide(facts(selected={}, outcomes={}, exit_status=1, crashes=[Crash("gw0", None, "killed")]))
    assert report.candidates[0].reasons == ["xdist worker gw0 crashed: killed"]


def test_a_collection_error_fails_every_candidate_whatever_pytest_says() -> None:
    report = decide(facts(candidates=[GOOD, OTHER], collection_errors=["t_broken.py (ImportError: x)"]))
    assert report.verdict == "fail" and report.exit_status == 1
    for candidate in report.candidates:
        assert candidate.verdict == "fail"
        assert "collection error in t_broken.py (ImportError: x)" in candidate.reasons[0]


def test_checks_that_never_reported_are_counted() -> None:
    outcomes = facts().outcomes
    del outcomes["t.py::a[run:p.good]"]
    report = decide(facts(outcomes=outcomes))
    assert report.candidates[0].reasons == [
        "1 of 2 gate checks never ran (the session stopped early: -x/--maxfail, pytest.exit or an interrupt)"
    ]


def test_usage_errors_exit_four_and_errors_exit_one() -> None:
    usage = decide(facts(usage_errors=["a hook registered too late"]))
    assert (usage.verdict, usage.exit_status, usage.error) == ("fail", 4, "a hook registered too late")
    hook = decide(facts(errors=["a pytest_contexta_gate_finished hook raised"]))
    assert (hook.verdict, hook.exit_status) == ("fail", 1)
    assert hook.candidates[0].reasons == ["a pytest_contexta_gate_finished hook raised"]


def test_an_unreadable_run_fails_with_the_reader_s_reason_and_notes_reach_the_report() -> None:
    diagnostic = Diagnostic(
        code="c", severity="info", subject_ref=None, summary="s", contexta_severity=None, source="x"
    )
    report = decide(
        facts(
            candidates=[GOOD, OTHER],
            runs={
                GOOD: RunFacts(diagnostics=(diagnostic,), notes=("index is stale",)),
                OTHER: RunFacts(error="permission denied"),
            },
        )
    )
    good, other = report.candidates
    assert (report.verdict, good.verdict, good.diagnostics) == ("fail", "pass", [diagnostic])
    assert other.reasons[0] == "the run could not be read: permission denied"
    assert report.notes == [f"{GOOD}: index is stale"]


def test_a_run_s_diagnostic_is_the_report_s_and_is_written_without_its_details() -> None:
    diagnostic = Diagnostic(code="c", severity="error", summary="s", details={"line": 3, "raw": object()})
    report = decide(facts(runs={GOOD: RunFacts(diagnostics=(diagnostic,))}))
    assert report.candidates[0].diagnostics[0] is diagnostic
    written = report.model_dump_json()
    (entry,) = json.loads(written)["candidates"][0]["diagnostics"]
    assert list(entry.items()) == [
        ("code", "c"),
        ("severity", "error"),
        ("subject_ref", None),
        ("summary", "s"),
        ("contexta_severity", None),
        ("source", "custom"),
    ]
    assert GateReport.model_validate_json(written).candidates[0].diagnostics == [
        diagnostic.model_copy(update={"details": {}})
    ]
    for wrong in ({**entry, "details": {}}, {k: v for k, v in entry.items() if k != "subject_ref"}):
        broken = written.replace(json.dumps(entry, separators=(",", ":")), json.dumps(wrong, separators=(",", ":")))
        assert broken != written
        with pytest.raises(ValidationError, match="diagnostics.0"):
            GateReport.model_validate_json(broken)


@pytest.mark.parametrize(
    ("phases", "outcome"),
    [
        ({"setup": "failed"}, "error"),
        ({"setup": "passed", "call": "skipped"}, "skipped"),
        ({"setup": "passed"}, "error"),  # started, never finished
        (FAILED, "failed"),
    ],
)
def test_check_outcomes(phases: dict[str, str], outcome: str) -> None:
    assert CheckOutcome("n", GOOD, phases).outcome == outcome


def test_a_waiver_naming_no_collected_check_is_a_usage_error_unless_checks_may_be_missing() -> None:
    from pytest_contexta.verdict.waivers import Waiver

    def waiver(check: str, candidate: str = "good") -> Waiver:
        return Waiver(line=1, check=check, candidate=candidate, reason="r", owner="o", expires="2099-01-01")

    stale = waiver("*::a[run:p.good-f1]")  # written for the old id order
    report = decide(facts(waivers=[stale]))
    assert (report.verdict, report.exit_status) == ("fail", int(pytest.ExitCode.USAGE_ERROR))
    assert report.error is not None and "names no gate check of run:p.good" in report.error
    # a deselected check counts as collected; a waiver of another candidate concerns none of this session's
    fine = decide(
        facts(
            waivers=[waiver("t.py::c[*"), waiver("*", candidate="other")],
            deselected={"t.py::c[run:p.good]": GOOD},
            allow_partial=True,
        )
    )
    assert fine.error is None and not any("names no gate check" in note for note in fine.notes)
    for missing in ({"allow_partial": True}, {"collection_errors": ["t2.py (ImportError)"]}):
        report = decide(facts(waivers=[stale], **missing))
        assert report.exit_status != pytest.ExitCode.USAGE_ERROR
        assert any("names no gate check" in note for note in report.notes)
