"""What pytest did with the gate checks: which were selected or left out, and how each one ended."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from ..checks.results import CheckResult
from ..frozen import FrozenModel
from ..verdict.facts import CheckOutcome, Crash
from ..verdict.waivers import Waiver

CANDIDATE_PARAM = "contexta_candidate"
_XDIST_WORKER_LINE = re.compile(r"\[gw\d+\] ")  # xdist puts "[gw0] linux -- Python …" before a remote failure


def candidate_of(item: pytest.Item) -> str | None:
    """The candidate a test checks, or None when it is not a gate check."""
    callspec = getattr(item, "callspec", None)
    return None if callspec is None else callspec.params.get(CANDIDATE_PARAM)


def failure_line(text: str) -> str:
    """The line of a failure report that says what went wrong (the first ``E`` line, else the first line)."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not _XDIST_WORKER_LINE.match(line)]
    errors = [line[1:].strip() for line in lines if line.startswith("E ")]
    return (errors or lines or [""])[0]


def skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    if hasattr(report, "wasxfail"):
        return f"xfail: {report.wasxfail}" if report.wasxfail else "xfail"
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return failure_line(report.longreprtext)


class PhaseRecord(FrozenModel):
    """What the gate noted on one report (setup, call or teardown) of a gate check, in the process that ran it.

    ``failure`` is set when the phase failed and a waiver or the advisory mark made pytest report it as an xfail:
    the gate counts the phase as failed. An xdist worker sends the record with its report, as JSON.
    """

    candidate: str
    results: tuple[CheckResult, ...] = ()  # the helpers' verdicts (call phase)
    advisory: bool = False
    waiver: Waiver | None = None
    expired_waivers: tuple[Waiver, ...] = ()
    failure: str | None = None


class CheckTracker:
    """Collects, from pytest's hooks, the facts :func:`~pytest_contexta.verdict.decide` needs."""

    def __init__(self) -> None:
        self.selected: dict[str, str] = {}
        self.deselected: dict[str, str] = {}
        self._found: dict[str, str] = {}
        self.outcomes: dict[str, CheckOutcome] = {}
        self.collection_errors: list[str] = []
        self.collection_skips: list[str] = []
        self.crashes: list[Crash] = []
        #: The gate's record of each report of a gate check, from :class:`~.running.CheckRunner` (or a worker), by
        #: node id and phase: a plugin that hands pytest a copy of the report keeps it.
        self.records: dict[tuple[str, str], PhaseRecord] = {}

    def found(self, item: pytest.Item) -> None:
        """A gate check as collected, before any hook could remove it from the session."""
        candidate = candidate_of(item)
        if candidate is not None:
            self._found[item.nodeid] = candidate

    def collected(self, items: Sequence[pytest.Item]) -> None:
        """The gate checks selected to run, in collection order; a collected check that a hook dropped from the
        session without deselecting it (``items[:] = ...``) counts as left out like a deselected one."""
        for item in items:
            candidate = candidate_of(item)
            if candidate is not None:
                self.selected[item.nodeid] = candidate
        for nodeid, candidate in self._found.items():
            if nodeid not in self.selected:
                self.deselected.setdefault(nodeid, candidate)

    def left_out(self, items: Sequence[pytest.Item]) -> None:
        """Checks deselected by -k, -m, --deselect, --lf or --sw."""
        for item in items:
            candidate = candidate_of(item)
            if candidate is not None:
                self.deselected[item.nodeid] = candidate

    def collect_report(self, report: pytest.CollectReport) -> None:
        if report.failed:
            error = f"{report.nodeid or 'a test directory'} ({failure_line(report.longreprtext)})"
            if error not in self.collection_errors:
                self.collection_errors.append(error)
        elif report.skipped:
            skip = f"{report.nodeid or 'a test directory'} ({skip_reason(report)})"
            if skip not in self.collection_skips:
                self.collection_skips.append(skip)

    def test_report(self, report: pytest.TestReport) -> None:
        record = self.records.get((report.nodeid, report.when))
        if record is None:
            return  # not a gate check
        outcome = self.outcomes.setdefault(report.nodeid, CheckOutcome(report.nodeid, record.candidate))
        outcome.phases[report.when] = report.outcome if record.failure is None else "failed"  # a waived failure failed
        outcome.advisory = outcome.advisory or record.advisory
        outcome.waiver = record.waiver or outcome.waiver
        outcome.expired_waivers = record.expired_waivers or outcome.expired_waivers
        if report.when == "call":
            outcome.results = record.results
        if record.failure is not None or report.failed:
            outcome.message = outcome.message or record.failure or failure_line(report.longreprtext)
        elif report.skipped:
            outcome.message = skip_reason(report)

    def crashed(self, worker: str, nodeid: str | None, message: str) -> None:
        """A worker died; xdist says so first without, then (when it knows) with the check it was running."""
        earlier = next((c for c in self.crashes if c.worker == worker), None)
        if earlier is not None:
            self.crashes.remove(earlier)
            nodeid = nodeid or earlier.nodeid
            message = earlier.message if earlier.nodeid is None and nodeid else message
        self.crashes.append(Crash(worker, nodeid, message))

    def worker_output(self) -> dict[str, Any]:
        """JSON-safe facts only a worker sees: the gate checks it selected and left out."""
        return {"selected": self.selected, "deselected": self.deselected}

    def merge(self, output: Mapping[str, Any]) -> None:
        for nodeid, candidate in output.get("selected", {}).items():
            self.selected.setdefault(nodeid, candidate)
        for nodeid, candidate in output.get("deselected", {}).items():
            self.deselected.setdefault(nodeid, candidate)
