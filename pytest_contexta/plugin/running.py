"""Running gate checks, in every process that collects them: parametrize, record helper verdicts, skip policy,
waivers and advisory checks, and the gate's record of each report."""

from __future__ import annotations

from collections.abc import Generator, Mapping

import pytest

from ..checks.results import CheckContext, CheckResult, recording
from ..text import printable
from ..verdict.waivers import Waiver, today
from .session import GateSession
from .stash import BASELINE_NONE_KEY, CHECK_CONTEXT_KEY
from .tracking import CANDIDATE_PARAM, CheckTracker, PhaseRecord, candidate_of, failure_line, skip_reason

OPTIONAL_MARKER = "contexta_optional"
ADVISORY_MARKER = "contexta_advisory"


class CheckRunner:
    """Registered while gating; its hooks delegate to the session and the tracker."""

    def __init__(self, session: GateSession, tracker: CheckTracker) -> None:
        self.session = session
        self.tracker = tracker

    def pytest_plugin_registered(self, plugin: object) -> None:
        self.session.plugin_registered(plugin)

    @pytest.hookimpl(trylast=True)  # after the test's own parameters: test_x[accuracy-run:p.candidate]
    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Every gate check once per candidate. The candidate's ref comes last in the test id, so ``-run:`` starts
        it (a run ref holds no other ``:``) and ``]`` ends it, whatever hyphens the test's own parameters hold."""
        if CANDIDATE_PARAM in metafunc.fixturenames:
            candidates = self.session.candidates
            metafunc.parametrize(CANDIDATE_PARAM, candidates, indirect=True, ids=candidates)

    def pytest_itemcollected(self, item: pytest.Item) -> None:
        self.tracker.found(item)

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.tracker.left_out(items)

    @pytest.hookimpl(tryfirst=True)  # before the terminal shows the baselines: they are decided here, in one read
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.tracker.collected(session.items)
        self.session.prepare(session.items)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, object, object]:
        """Give every test the ini direction rules; record helper verdicts of gate checks."""
        candidate = candidate_of(item)
        choice = self.session.decided_baselines().get(candidate) if candidate else None
        context = CheckContext(
            baseline_reasons={choice.run_ref: choice.reason} if choice and choice.run_ref else {},
            lower_is_better=self.session.settings.lower_is_better,
            higher_is_better=self.session.settings.higher_is_better,
            replicate_tags=self.session.settings.replicate_tags,
            inconclusive_fails=self.session.settings.inconclusive_fails,
            history=self.session.history(candidate) if candidate and _uses_baseline(item) else None,
        )
        if candidate is not None:
            item.stash[CHECK_CONTEXT_KEY] = context
        try:
            with recording(context):
                return (yield)
        finally:
            if candidate is not None:
                item.user_properties.extend(_junit_properties(context.results))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        """Record what the gate saw of each report of a gate check; a skipped gate check fails; a failure a waiver
        or the advisory mark covers is reported as an xfail."""
        report: pytest.TestReport = yield
        candidate = candidate_of(item)
        if candidate is None:
            return report
        _fail_if_skipped(item, report)
        advisory = item.get_closest_marker(ADVISORY_MARKER) is not None
        waiver_file = self.session.settings.waiver_file
        waiver: Waiver | None = None
        expired: list[Waiver] = []
        if report.failed and report.when == "call" and waiver_file is not None:
            waiver, expired = waiver_file.applicable(item.nodeid, candidate, today())
        failure = _excuse(item, report, waiver) if report.failed and (waiver or advisory) else None
        context = item.stash.get(CHECK_CONTEXT_KEY, None) if report.when == "call" else None
        self.tracker.records[report.nodeid, report.when] = PhaseRecord(
            candidate=candidate,
            results=tuple(context.results) if context else (),
            advisory=advisory,
            waiver=waiver,
            expired_waivers=tuple(expired),
            failure=failure,
        )
        return report


def _fail_if_skipped(item: pytest.Item, report: pytest.TestReport) -> None:
    """A skipped gate check fails the gate, unless it may be skipped (optional, or its baseline is declared none)."""
    if not report.skipped or item.get_closest_marker(OPTIONAL_MARKER) or item.stash.get(BASELINE_NONE_KEY, False):
        return
    reason = skip_reason(report)
    report.outcome = "failed"
    if hasattr(report, "wasxfail"):
        del report.wasxfail
    report.longrepr = (
        f"contexta: gate check skipped ({reason}); a skipped check does not pass the "
        f"gate. Mark it @pytest.mark.{OPTIONAL_MARKER} if it may be skipped."
    )


def _excuse(item: pytest.Item, report: pytest.TestReport, waiver: Waiver | None) -> str:
    """A failure a valid waiver covers, or of an advisory check, does not fail pytest: it is reported as an xfail
    (never as passed), and the gate's verdict shows it as WAIVED or as a warning. Returns the failure's line."""
    failure = failure_line(report.longreprtext)
    if waiver is not None:
        reason = (
            f"contexta: WAIVED by {waiver.owner} until {waiver.expires} (waiver line {waiver.line}): {waiver.reason}"
        )
        item.user_properties += [
            ("contexta.outcome", "waived"),
            ("contexta.waiver.owner", waiver.owner),
            ("contexta.waiver.reason", waiver.reason),
            ("contexta.waiver.expires", waiver.expires),
        ]
    else:
        reason = f"contexta: advisory check did not pass (a warning): {failure}"
        item.user_properties.append(("contexta.outcome", "warning"))
    report.outcome = "skipped"
    report.wasxfail = printable(reason)
    return failure


def _junit_properties(results: list[CheckResult]) -> list[tuple[str, object]]:
    """The helper verdicts as JUnit properties; strings that may come from the workspace are escaped."""
    properties: list[tuple[str, object]] = []
    for result in results:
        data: Mapping[str, object] = result.model_dump(
            mode="json", exclude_none=True, exclude_defaults=True, exclude={"history", "direction_unknown"}
        )  # history_values carries its numbers; unknown direction names are a note of the session
        properties.extend(
            (f"contexta.{name}", printable(value) if isinstance(value, str) else value) for name, value in data.items()
        )
    return properties


def _uses_baseline(item: pytest.Item) -> bool:
    """Whether the check compares with the baseline (only then does it get the history, read once)."""
    return "baseline_run" in getattr(item, "fixturenames", ())
