"""The gate's verdict: one pure function from what the session saw to the final report (no pytest run needed)."""

from __future__ import annotations

from datetime import date

import pytest

from ..checks.direction_names import unknown_name_notes
from .facts import CandidateFacts, CheckOutcome, Crash, GateFacts, RunFacts
from .report import VERDICT_PRECEDENCE, CandidateReport, GateReport, Outcome, ReportCheck, Verdict
from .tiers import (
    entry_outcome,
    expired_reasons,
    skipped_slices,
    strict_waiver_problems,
    tier_notes,
    waiver_reports,
    waiver_use,
    warnings_of,
)
from .waivers import today

PARTIAL_OPTION = "--contexta-allow-partial"


def decide(facts: GateFacts) -> GateReport:
    """The final verdict: the worst candidate verdict (``pass`` only when every candidate passed, nothing went
    wrong and pytest exits 0), with the exit status that tells the deploy decision."""
    stale = facts.stale_waivers()
    waivers = waiver_reports(
        facts.waivers,
        facts.candidates,
        facts.outcomes.values(),
        date.fromisoformat(facts.today) if facts.today else today(),
    )
    strict = strict_waiver_problems(waivers, facts.strict_waivers_source) if facts.strict_waivers else []
    usage_errors = (
        facts.usage_errors + ([] if facts.checks_may_be_missing else stale) + facts.blanket_waivers() + strict
    )
    problems = usage_errors + facts.errors
    candidates = [_candidate_report(facts, facts.for_candidate(ref), problems) for ref in facts.candidates]
    status = _exit_status(facts.exit_status, usage_errors, _gate_fails(facts, problems, candidates))
    return GateReport(
        verdict=session_verdict(candidates, status, facts.inconclusive),
        exit_status=status,
        workspace=facts.workspace,
        created_at=facts.created_at,
        candidates=candidates,
        error="; ".join(problems) or None,
        notes=_notes(facts)
        + unknown_name_notes((o.nodeid, o.results) for o in facts.outcomes.values())
        + tier_notes(candidates, waivers)
        + (stale if facts.checks_may_be_missing else []),
        waivers=waivers,
        provenance=facts.provenance,
        inconclusive="fail" if facts.inconclusive == "fail" else "pass",
    )


def _gate_fails(facts: GateFacts, problems: list[str], candidates: list[CandidateReport]) -> bool:
    """A problem, no candidate, a failed one, or an inconclusive one under ``--contexta-inconclusive=fail``."""
    undecided_fails = facts.inconclusive == "fail"
    return (
        bool(problems)
        or not candidates
        or any(c.verdict == "fail" or (c.verdict == "inconclusive" and undecided_fails) for c in candidates)
    )


def _exit_status(pytest_status: int, usage_errors: list[str], fails: bool) -> int:
    """4 on a usage error; a failed gate never exits 0 (nor 5, "no tests collected"); else pytest's own."""
    if usage_errors:
        return int(pytest.ExitCode.USAGE_ERROR)
    if fails and pytest_status in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        return int(pytest.ExitCode.TESTS_FAILED)
    return pytest_status


def session_verdict(candidates: list[CandidateReport], exit_status: int, inconclusive: str) -> Verdict:
    """The worst candidate verdict (fail > inconclusive > pass-with-warnings > pass), ``inconclusive`` included
    whatever ``--contexta-inconclusive`` says: the exit status tells the deploy decision.

    ``fail`` when there is no candidate, or when the session exits non-zero for a reason no candidate's verdict
    gives (a test that is not a gate check failed, the session was interrupted, an output could not be written).
    """
    given = {c.verdict for c in candidates}
    worst: Verdict = next((v for v in VERDICT_PRECEDENCE if v in given), "fail")
    explained = worst == "fail" or (worst == "inconclusive" and inconclusive == "fail")
    return worst if exit_status == pytest.ExitCode.OK or explained else "fail"


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


def _candidate_report(facts: GateFacts, candidate: CandidateFacts, problems: list[str]) -> CandidateReport:
    """``fail`` with a reason for everything that went wrong, else ``inconclusive``, ``pass-with-warnings`` or
    ``pass``."""
    settled = {o.nodeid: _settled(o, facts.inconclusive) for o in candidate.outcomes}
    checks = [check for outcome in candidate.outcomes for check in _report_checks(outcome)]
    warnings = warnings_of(checks)
    reasons = _selection_reasons(facts, candidate) + _outcome_reasons(facts, candidate, settled, checks) + problems
    undecided = sum(outcome == "inconclusive" for outcome in settled.values())
    verdict: Verdict = (
        "fail" if reasons else "inconclusive" if undecided else "pass-with-warnings" if warnings else "pass"
    )
    if undecided:
        effect = "fails" if facts.inconclusive == "fail" else "passes"
        reasons.append(
            f"{undecided} of {candidate.total} gate checks are inconclusive: the data cannot tell whether they hold "
            f"(--contexta-inconclusive={facts.inconclusive}, from {facts.inconclusive_source}: the gate "
            f"{effect})"
        )
    return CandidateReport(
        run_ref=candidate.ref,
        verdict=verdict,
        reasons=reasons,
        warnings=warnings,
        baseline=facts.baselines.get(candidate.ref),
        diagnostics=list(candidate.run.diagnostics),
        checks=checks,
    )


def _selection_reasons(facts: GateFacts, candidate: CandidateFacts) -> list[str]:
    """What kept gate checks from running: an unreadable run, collection errors, crashes, the selection."""
    reasons = [f"the run could not be read: {candidate.run.error}"] if candidate.run.error else []
    reasons += [
        f"collection error in {module}: gate checks in it were never collected" for module in facts.collection_errors
    ]
    reasons += [_crash_reason(c) for c in candidate.crashes]
    if not candidate.total and not facts.collection_errors and not facts.crashes:
        reasons.append("no gate check ran for this candidate: none was collected — check the path")
    if not facts.allow_partial and (candidate.deselected or facts.left_out):
        reasons.append(
            f"the selection left gate checks out ({_left_out(facts, candidate.ref)}): a gate runs every check; "
            f"pass {PARTIAL_OPTION} for a deliberate partial rerun"
        )
    if facts.allow_partial and candidate.total and not candidate.outcomes and not candidate.never_ran:
        reasons.append(
            f"none of its {candidate.total} gate checks ran (the partial selection left them all out): a "
            f"candidate never passes on checks that did not run; select at least one of its checks, or leave "
            f"the candidate out of --contexta-candidate"
        )
    if candidate.never_ran:
        reasons.append(
            f"{len(candidate.never_ran)} of {candidate.total} gate checks never ran (the session stopped early: "
            f"{_stop_cause(facts)})"
        )
    return reasons


def _outcome_reasons(
    facts: GateFacts, candidate: CandidateFacts, settled: dict[str, Outcome], checks: list[ReportCheck]
) -> list[str]:
    """How the checks that ran fail the candidate: failures and errors, swallowed verdicts, nothing but skips."""
    bad = [o for o in candidate.outcomes if settled[o.nodeid] in ("failed", "error")]
    reasons = [f"{len(bad)} of {candidate.total} gate checks did not pass"] if bad else []
    swallowed = [o.nodeid for o in bad if o.outcome == "passed"]
    if swallowed:
        reasons.append(
            f"a helper failed in {', '.join(swallowed)} but the test passed (its AssertionError was "
            f"caught): the helper's verdict counts"
        )
    if settled and all(outcome == "skipped" for outcome in settled.values()):
        reasons.append("no gate check passed (all were skipped)")
    if facts.collection_skips:
        reasons.append(f"skipped at collection, so their checks never ran: {'; '.join(facts.collection_skips)}")
    return reasons + _tier_reasons(facts, candidate, checks)


def _tier_reasons(facts: GateFacts, candidate: CandidateFacts, checks: list[ReportCheck]) -> list[str]:
    """Expired waivers of failing checks; advisory checks that did not pass and slices ``min_n`` skipped, under
    ``--contexta-fail-on=warning``."""
    reasons = expired_reasons(candidate.outcomes)
    advisory = {c.nodeid for c in checks if c.outcome == "warning"}
    if advisory and facts.fail_on == "warning":
        reasons.append(f"{len(advisory)} advisory gate check(s) did not pass and --contexta-fail-on is warning")
    skipped = skipped_slices(checks)
    if skipped and facts.fail_on == "warning":
        reasons.append(
            f"min_n skipped {len(skipped)} slice(s), so they were not checked, and --contexta-fail-on is warning"
        )
    return reasons


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
                **result.model_dump(exclude={"passed", "run_ref", "advisory", "outcome", "direction_unknown"}),
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
