"""The gate's verdict: one pure function from what the session saw to the final report (no pytest run needed)."""

from __future__ import annotations

from datetime import date

import pytest

from .facts import CheckOutcome, Crash, GateFacts, RunFacts
from .report import VERDICT_PRECEDENCE, CandidateReport, GateReport, Outcome, ReportCheck, Verdict
from .tiers import entry_outcome, expired_reasons, tier_notes, waiver_reports, waiver_use, warnings_of
from .waivers import today, unmatched_waivers

PARTIAL_OPTION = "--contexta-allow-partial"


def decide(facts: GateFacts) -> GateReport:
    """The final verdict: ``pass`` only when every candidate passed, nothing went wrong and pytest exits 0."""
    stale = unmatched_waivers(facts.waivers, {**facts.deselected, **facts.selected})
    missing = facts.allow_partial or bool(facts.collection_errors)  # the checks a waiver names may not be collected
    usage_errors = facts.usage_errors + ([] if missing else stale)
    problems = usage_errors + facts.errors
    candidates = [_candidate_report(facts, ref, problems) for ref in facts.candidates]
    undecided_fails = facts.inconclusive == "fail"
    failed = (
        bool(problems)
        or not candidates
        or any(c.verdict == "fail" or (c.verdict == "inconclusive" and undecided_fails) for c in candidates)
    )
    status = facts.exit_status
    if usage_errors:
        status = int(pytest.ExitCode.USAGE_ERROR)
    elif failed and status in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        status = int(pytest.ExitCode.TESTS_FAILED)
    waivers = waiver_reports(
        facts.waivers,
        facts.candidates,
        facts.outcomes.values(),
        date.fromisoformat(facts.today) if facts.today else today(),
    )
    return GateReport(
        verdict=_overall(candidates) if status == pytest.ExitCode.OK else "fail",
        exit_status=status,
        workspace=facts.workspace,
        created_at=facts.created_at,
        candidates=candidates,
        error="; ".join(problems) or None,
        notes=_notes(facts) + tier_notes(candidates, waivers) + (stale if missing else []),
        waivers=waivers,
        provenance=facts.provenance,
        inconclusive="fail" if undecided_fails else "pass",
    )


def _overall(candidates: list[CandidateReport]) -> Verdict:
    """The worst candidate verdict (fail > inconclusive > pass-with-warnings > pass) of a gate that exits 0.

    It exits 0 with an inconclusive candidate only under ``--contexta-inconclusive=pass``: that passes with
    warnings, never plainly.
    """
    shown: list[Verdict] = ["pass-with-warnings" if c.verdict == "inconclusive" else c.verdict for c in candidates]
    return next((v for v in VERDICT_PRECEDENCE if v in shown), "pass")


def _notes(facts: GateFacts) -> list[str]:
    """Reader notes of every run the gate used, and what a partial run left out."""
    refs = [*facts.candidates, *(c.run_ref for c in facts.baselines.values() if c.run_ref)]
    notes = [f"{ref}: {note}" for ref in dict.fromkeys(refs) for note in facts.runs.get(ref, RunFacts()).notes]
    if facts.allow_partial and (facts.deselected or facts.left_out):
        notes.append(f"partial run ({PARTIAL_OPTION}): {_left_out(facts, None)}")
    return notes


def _left_out(facts: GateFacts, candidate: str | None) -> str:
    deselected = [n for n, c in facts.deselected.items() if candidate in (None, c)]
    parts = [f"{len(deselected)} gate checks deselected and not run"] if deselected else []
    return "; ".join(parts + facts.left_out)


def _candidate_report(facts: GateFacts, ref: str, problems: list[str]) -> CandidateReport:
    order = {nodeid: index for index, nodeid in enumerate([*facts.selected, *facts.deselected])}
    outcomes = _outcomes_with_crashes(facts, ref)
    outcomes.sort(key=lambda o: order.get(o.nodeid, len(order)))  # stable: unknown checks keep their order
    run = facts.runs.get(ref, RunFacts())
    reasons = [f"the run could not be read: {run.error}"] if run.error else []
    selected = {nodeid for nodeid, candidate in facts.selected.items() if candidate == ref}
    reported = {o.nodeid for o in outcomes}
    deselected = {nodeid for nodeid, candidate in facts.deselected.items() if candidate == ref}
    total = len(selected | reported | deselected)
    reasons += [
        f"collection error in {module}: gate checks in it were never collected" for module in facts.collection_errors
    ]
    reasons += [_crash_reason(c) for c in facts.crashes if facts.selected.get(c.nodeid or "") in (ref, None)]
    if not total and not facts.collection_errors and not facts.crashes:
        reasons.append("no gate check ran for this candidate: none was collected — check the path")
    if not facts.allow_partial and (deselected or facts.left_out):
        reasons.append(
            f"the selection left gate checks out ({_left_out(facts, ref)}): a gate runs every check; "
            f"pass {PARTIAL_OPTION} for a deliberate partial rerun"
        )
    never_ran = selected - reported
    if never_ran:
        reasons.append(
            f"{len(never_ran)} of {total} gate checks never ran (the session stopped early: {_stop_cause(facts)})"
        )
    settled = {o.nodeid: _settled(o, facts.inconclusive) for o in outcomes}
    bad = [o for o in outcomes if settled[o.nodeid] in ("failed", "error")]
    if bad:
        reasons.append(f"{len(bad)} of {total} gate checks did not pass")
    swallowed = [o.nodeid for o in bad if o.outcome == "passed"]
    if swallowed:
        reasons.append(
            f"a helper failed in {', '.join(swallowed)} but the test passed (its AssertionError was "
            f"caught): the helper's verdict counts"
        )
    if outcomes and all(settled[o.nodeid] == "skipped" for o in outcomes):
        reasons.append("no gate check passed (all were skipped)")
    if facts.collection_skips:
        reasons.append(f"skipped at collection, so their checks never ran: {'; '.join(facts.collection_skips)}")
    checks = [check for outcome in outcomes for check in _report_checks(outcome)]
    reasons += expired_reasons(outcomes)
    warnings = warnings_of(checks)
    advisory = {c.nodeid for c in checks if c.outcome == "warning"}
    if advisory and facts.fail_on == "warning":
        reasons.append(f"{len(advisory)} advisory gate check(s) did not pass and --contexta-fail-on is warning")
    reasons += problems
    undecided = sum(outcome == "inconclusive" for outcome in settled.values())
    verdict: Verdict = (
        "fail" if reasons else "inconclusive" if undecided else "pass-with-warnings" if warnings else "pass"
    )
    if undecided:
        effect = "fails" if facts.inconclusive == "fail" else "passes"
        reasons.append(
            f"{undecided} of {total} gate checks are inconclusive: the data cannot tell whether they hold "
            f"(--contexta-inconclusive={facts.inconclusive}, from {facts.inconclusive_source}: the gate "
            f"{effect})"
        )
    return CandidateReport(
        run_ref=ref,
        verdict=verdict,
        reasons=reasons,
        warnings=warnings,
        baseline=facts.baselines.get(ref),
        diagnostics=list(run.diagnostics),
        checks=checks,
    )


def _settled(outcome: CheckOutcome, inconclusive: str) -> Outcome:
    """The check's outcome as the gate counts it.

    ``inconclusive`` when its helpers found something inconclusive and nothing failed, and the test ended as
    ``--contexta-inconclusive`` makes it end (failed under ``fail``, passed under ``pass``); a test that passed
    although one of its (non-advisory) helpers failed or was inconclusive (it caught the AssertionError) counts
    as that helper says: a gate check cannot pass by swallowing a verdict.
    """
    found = {result.outcome for result in outcome.results if not result.advisory}
    policy_end = "failed" if inconclusive == "fail" else "passed"
    if outcome.outcome == policy_end and "inconclusive" in found and "failed" not in found:
        return "inconclusive"
    if outcome.outcome == "passed" and "failed" in found:
        return "failed"
    if outcome.outcome == "passed" and "inconclusive" in found:
        return "inconclusive"
    return outcome.outcome


def _outcomes_with_crashes(facts: GateFacts, ref: str) -> list[CheckOutcome]:
    """The candidate's reported checks; a check a worker crashed in counts as an error with the crash message."""
    outcomes = {o.nodeid: o for o in facts.outcomes.values() if o.candidate == ref}
    for crash in facts.crashes:
        if crash.nodeid is not None and facts.selected.get(crash.nodeid) == ref:
            outcomes[crash.nodeid] = CheckOutcome(crash.nodeid, ref, {"call": "failed"}, crash.message)
    return list(outcomes.values())


def _crash_reason(crash: Crash) -> str:
    where = f" while running {crash.nodeid}" if crash.nodeid else ""
    return f"xdist worker {crash.worker} crashed{where}: {crash.message}"


def _stop_cause(facts: GateFacts) -> str:
    if facts.crashes:
        return "an xdist worker crashed"
    if facts.collection_errors:
        return "a collection error"
    return "-x/--maxfail, pytest.exit or an interrupt"


def _report_checks(outcome: CheckOutcome) -> list[ReportCheck]:
    """One entry per helper verdict, plus one for the test itself when its outcome is not explained by them."""
    entries = []
    waiver = waiver_use(outcome)
    for result in outcome.results:
        advisory = result.advisory or outcome.advisory
        entries.append(
            ReportCheck(
                nodeid=outcome.nodeid,
                outcome=entry_outcome(result.outcome, advisory, outcome),
                advisory=advisory,
                waiver=None if result.passed else waiver,
                **result.model_dump(exclude={"passed", "run_ref", "advisory", "outcome"}),
            )
        )
    shown = {e.outcome for e in entries}
    if not entries or (outcome.outcome not in shown | {"passed"} and shown <= {"passed", "warning"}):
        entries.append(
            ReportCheck(
                nodeid=outcome.nodeid,
                outcome=outcome.outcome,
                kind="custom",
                detail=outcome.explanation or "passed",
                advisory=outcome.advisory,
                waiver=None if outcome.outcome == "passed" else waiver,
            )
        )
    return entries
