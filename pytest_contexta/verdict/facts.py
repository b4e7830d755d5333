"""What the session saw, gathered once: which checks ran and how each ended, the runs' diagnostics, the selection,
waivers and errors. :func:`decide` turns these facts into the verdict."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..checks.results import CheckResult
from ..runs.models import BaselineChoice, Diagnostic
from .provenance import Provenance
from .report import Outcome
from .waivers import Waiver, blanket_waivers, unmatched_waivers


@dataclass
class CheckOutcome:
    """The phases of one gate check as its reports arrived (from this process or from xdist workers)."""

    nodeid: str
    candidate: str
    phases: dict[str, str] = field(default_factory=dict)
    message: str = ""
    results: tuple[CheckResult, ...] = ()  # its helpers' verdicts
    advisory: bool = False  # marked @pytest.mark.contexta_advisory
    waiver: Waiver | None = None  # the valid waiver that covered its failure
    expired_waivers: tuple[Waiver, ...] = ()  # expired ones that would have

    @property
    def outcome(self) -> Outcome:
        """How pytest's phases read for the gate: a waived failure is ``waived``, an advisory one ``warning``."""
        ran = self._ran()
        if ran == "failed" and self.waiver is not None:
            return "waived"
        if ran in ("failed", "error") and self.advisory:
            return "warning"
        return ran

    def _ran(self) -> Outcome:
        """passed only when the test body ran and passed; a check interrupted before that is an error."""
        if "failed" in (self.phases.get("setup"), self.phases.get("teardown")):
            return "error"
        if self.phases.get("call") == "failed":
            return "failed"
        if "skipped" in (self.phases.get("setup"), self.phases.get("call")):
            return "skipped"
        if self.phases.get("call") == "passed":
            return "passed"
        return "error"

    @property
    def explanation(self) -> str:
        if self.message or self.outcome != "error":
            return self.message
        return "the check started but never finished (the session was interrupted)"


@dataclass(frozen=True)
class RunFacts:
    """What the verdict needs of one run: its diagnostics and reader notes, or why it could not be read."""

    diagnostics: tuple[Diagnostic, ...] = ()
    notes: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class Crash:
    """An xdist worker that died; ``nodeid`` is the check it was running, when xdist knows it."""

    worker: str
    nodeid: str | None
    message: str


@dataclass
class GateFacts:
    """Everything the session saw, gathered in one place; :func:`decide` turns it into the verdict."""

    workspace: str
    created_at: str
    exit_status: int
    candidates: list[str]
    baselines: dict[str, BaselineChoice] = field(default_factory=dict)
    runs: dict[str, RunFacts] = field(default_factory=dict)
    selected: dict[str, str] = field(default_factory=dict)  # gate check nodeid -> candidate, collection order
    deselected: dict[str, str] = field(default_factory=dict)  # left out by -k/-m/--deselect/--lf/--sw
    outcomes: dict[str, CheckOutcome] = field(default_factory=dict)
    left_out: list[str] = field(default_factory=list)  # options that leave checks out uncounted (--ignore, --lf)
    allow_partial: bool = False
    inconclusive: str = "fail"  # --contexta-inconclusive: what an inconclusive check does to the gate
    inconclusive_source: str = "default"
    collection_errors: list[str] = field(default_factory=list)
    collection_skips: list[str] = field(default_factory=list)
    crashes: list[Crash] = field(default_factory=list)
    usage_errors: list[str] = field(default_factory=list)  # the gate was used wrongly (exit status 4)
    errors: list[str] = field(default_factory=list)  # the gate itself failed (a hook raised, an output failed)
    fail_on: str = "failure"  # "warning": an advisory check that does not pass fails the gate
    waivers: list[Waiver] = field(default_factory=list)  # the waiver file's entries
    today: str | None = None  # the ISO date the waivers were judged on
    strict_waivers: bool = False  # --contexta-strict-waivers: a waiver that waived nothing fails the gate
    strict_waivers_source: str = "default"
    provenance: Provenance | None = None

    def for_candidate(self, ref: str) -> CandidateFacts:
        """The candidate's share of the facts."""
        order = {nodeid: index for index, nodeid in enumerate([*self.selected, *self.deselected])}
        outcomes = {o.nodeid: o for o in self.outcomes.values() if o.candidate == ref}
        for crash in self.crashes:  # a check a worker crashed in counts as an error with the crash message
            if crash.nodeid is not None and self.selected.get(crash.nodeid) == ref:
                outcomes[crash.nodeid] = CheckOutcome(crash.nodeid, ref, {"call": "failed"}, crash.message)
        return CandidateFacts(
            ref=ref,
            # stable: checks of unknown position keep their order, after the known ones
            outcomes=sorted(outcomes.values(), key=lambda o: order.get(o.nodeid, len(order))),
            selected=frozenset(n for n, candidate in self.selected.items() if candidate == ref),
            deselected=frozenset(n for n, candidate in self.deselected.items() if candidate == ref),
            crashes=[c for c in self.crashes if self.selected.get(c.nodeid or "") in (ref, None)],
            run=self.runs.get(ref, RunFacts()),
        )

    def stale_waivers(self) -> list[str]:
        """Why each waiver that names none of the collected gate checks (selected or not) of a candidate it covers
        is wrong."""
        return unmatched_waivers(self.waivers, {**self.deselected, **self.selected})

    def blanket_waivers(self) -> list[str]:
        """Why each waiver not written ``blanket = true`` that matches every gate check of a candidate is wrong."""
        return blanket_waivers(self.waivers, {**self.deselected, **self.selected})

    @property
    def checks_may_be_missing(self) -> bool:
        """Whether gate checks may be missing from the collection (a partial run, a collection error)."""
        return self.allow_partial or bool(self.collection_errors)


@dataclass(frozen=True)
class CandidateFacts:
    """One candidate's share of the facts: its reported checks in collection order, what was selected and left
    out for it, the crashes that concern it and its run."""

    ref: str
    outcomes: list[CheckOutcome]
    selected: frozenset[str]
    deselected: frozenset[str]
    crashes: list[Crash]
    run: RunFacts

    @property
    def total(self) -> int:
        """Its gate checks: selected, reported or deselected."""
        return len(self.selected | self.deselected | {o.nodeid for o in self.outcomes})

    @property
    def never_ran(self) -> frozenset[str]:
        """Selected checks that never reported (the session stopped early)."""
        return self.selected - {o.nodeid for o in self.outcomes}
