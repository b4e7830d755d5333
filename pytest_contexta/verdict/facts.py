"""What the session saw, gathered once: which checks ran and how each ended, the runs' diagnostics, the selection,
waivers and errors. :func:`decide` turns these facts into the verdict."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..checks.results import CheckResult
from ..runs.models import BaselineChoice, Diagnostic
from .provenance import Provenance
from .report import Outcome
from .waivers import Waiver


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
    provenance: Provenance | None = None
