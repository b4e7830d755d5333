"""The verdict's tiers beyond pass and fail: advisory warnings and waived failures, as the report shows them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Literal

from .report import CandidateReport, Outcome, ReportCheck, ReportWaiver, WaiverUse
from .waivers import SOON_DAYS, Waiver

STRICT_OPTION = "--contexta-strict-waivers"

if TYPE_CHECKING:
    from .facts import CheckOutcome


def skipped_slices(checks: list[ReportCheck]) -> list[ReportCheck]:
    """The helper rows that ``min_n`` skipped (a slice too small to judge): not checked, so never silent."""
    return [c for c in checks if c.outcome == "skipped" and c.kind != "custom"]


def warnings_of(checks: list[ReportCheck]) -> list[str]:
    """Why a candidate passed only with warnings: advisory checks that did not pass, slices ``min_n`` skipped,
    waived failures."""
    advisory = list(dict.fromkeys(c.nodeid for c in checks if c.outcome == "warning"))
    warnings = [f"{len(advisory)} advisory gate check(s) did not pass: {', '.join(advisory)}"] if advisory else []
    warnings += [f"NOT CHECKED in {c.nodeid}: {c.detail}" for c in skipped_slices(checks)]
    waived = {c.nodeid: c.waiver for c in checks if c.outcome == "waived" and c.waiver is not None}
    warnings += [
        f"WAIVED {nodeid}: owner {w.owner}, expires {w.expires} (waiver line {w.line}): {w.reason}"
        for nodeid, w in waived.items()
    ]
    return warnings


def expired_reasons(outcomes: list[CheckOutcome]) -> list[str]:
    return [
        f"the waiver at line {w.line} for {o.nodeid} (owner {w.owner}) expired on {w.expires}, so its failure counts"
        for o in outcomes
        if o.outcome in ("failed", "error")
        for w in o.expired_waivers[:1]
    ]


def waiver_reports(
    waivers: Iterable[Waiver], candidates: list[str], outcomes: Iterable[CheckOutcome], on: date
) -> list[ReportWaiver]:
    """Each waiver of the file: applied, unused (matched no failing check) or expired on ``on``, days left, and
    which of the gated candidates it covers."""
    outcomes = list(outcomes)
    reports = []
    for waiver in waivers:
        waived = [
            o.nodeid
            for o in outcomes
            if o.outcome == "waived" and o.waiver is not None and o.waiver.line == waiver.line
        ]
        days = waiver.days_left(on)
        status: Literal["applied", "unused", "expired"] = "expired" if days < 0 else "applied" if waived else "unused"
        reports.append(
            ReportWaiver(
                **waiver.as_json(),
                status=status,
                days_left=days,
                expires_soon=0 <= days <= SOON_DAYS,
                waived=waived,
                gated=[ref for ref in candidates if waiver.covers(ref)],
            )
        )
    return reports


def strict_waiver_problems(waivers: list[ReportWaiver], source: str) -> list[str]:
    """Under ``--contexta-strict-waivers``, why each waiver that waived nothing (unused or expired) fails the gate."""
    problems = []
    for w in waivers:
        if w.status == "applied":
            continue
        why = f"it expired on {w.expires}" if w.status == "expired" else "no failing gate check matched it"
        problems.append(
            f"the waiver at line {w.line} (check {w.check!r}, candidate {w.candidate!r}, owner {w.owner}) waived "
            f"nothing in this session ({why}) and strict waivers are on ({STRICT_OPTION}, from {source}): remove "
            f"the waiver, or turn strict waivers off"
        )
    return problems


def tier_notes(candidates: list[CandidateReport], waivers: list[ReportWaiver]) -> list[str]:
    """Waivers that expired, expire soon or waived nothing, and every ``ignore=`` waiver written in code."""
    notes = []
    for w in waivers:
        label = f"waiver at line {w.line} (check {w.check!r}, candidate {w.candidate!r}, owner {w.owner})"
        if w.status == "expired":
            notes.append(f"{label} expired on {w.expires}; it no longer applies")
        elif w.status == "unused" and w.gated:
            notes.append(
                f"{label} matched no failing check of {', '.join(w.gated)}: it waived nothing; remove it if it is stale"
            )
        elif w.status == "unused":
            notes.append(f"{label} covers none of the gated candidates, so it waived nothing in this session")
        if w.expires_soon:
            notes.append(f"{label} expires in {w.days_left} day(s), on {w.expires}")
    notes += [
        f"{c.run_ref}: {check.nodeid} waives error diagnostics in code: ignore={check.ignored}"
        for c in candidates
        for check in c.checks
        if check.ignored
    ]
    return notes


def entry_outcome(result: Outcome, advisory: bool, outcome: CheckOutcome) -> Outcome:
    """How one helper verdict reads: a failing or inconclusive one is waived or, when advisory, a warning."""
    if result in ("passed", "skipped"):
        return result
    if outcome.outcome == "waived":
        return "waived"
    return "warning" if advisory else result


def waiver_use(outcome: CheckOutcome) -> WaiverUse | None:
    """The waiver that covered the check, else the expired one that no longer does."""
    if outcome.waiver is not None:
        return _use(outcome.waiver, expired=False)
    if outcome.expired_waivers:
        return _use(outcome.expired_waivers[0], expired=True)
    return None


def _use(waiver: Waiver, expired: bool) -> WaiverUse:
    return WaiverUse(
        line=waiver.line, owner=waiver.owner, reason=waiver.reason, expires=waiver.expires, expired=expired
    )
