"""Running gate checks, in every process that collects them: parametrize, record helper verdicts, skip policy."""

from __future__ import annotations

from collections.abc import Generator, Mapping

import pytest

from ..checks.results import CheckContext, CheckResult, recording
from ..text import printable
from ..verdict.waivers import Waiver, today
from .session import GateSession
from .tracking import CANDIDATE_PARAM, CheckTracker, candidate_of, failure_line, skip_reason

OPTIONAL_MARKER = "contexta_optional"
ADVISORY_MARKER = "contexta_advisory"
CHECK_CONTEXT_KEY = pytest.StashKey[CheckContext]()
BASELINE_NONE_KEY = pytest.StashKey[bool]()


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
        """Tag gate check reports with their candidate and helper verdicts; a skipped gate check fails."""
        report: pytest.TestReport = yield
        candidate = candidate_of(item)
        if candidate is None:
            return report
        report.contexta_candidate = candidate  # type: ignore[attr-defined]
        if report.when == "call":
            context = item.stash.get(CHECK_CONTEXT_KEY, None)
            results = context.results if context else []
            report.contexta_checks = [r.model_dump(mode="json") for r in results]  # type: ignore[attr-defined]
        allowed_skip = item.get_closest_marker(OPTIONAL_MARKER) or item.stash.get(BASELINE_NONE_KEY, False)
        if report.skipped and not allowed_skip:
            reason = skip_reason(report)
            report.outcome = "failed"
            if hasattr(report, "wasxfail"):
                del report.wasxfail
            report.longrepr = (
                f"contexta: gate check skipped ({reason}); a skipped check does not pass the "
                f"gate. Mark it @pytest.mark.{OPTIONAL_MARKER} if it may be skipped."
            )
        if item.get_closest_marker(ADVISORY_MARKER) is not None:
            report.contexta_advisory = True  # type: ignore[attr-defined]
        if report.failed:
            self._waive_or_warn(item, report, candidate)
        return report

    def _waive_or_warn(self, item: pytest.Item, report: pytest.TestReport, candidate: str) -> None:
        """A failure a valid waiver covers, or of an advisory check, does not fail pytest: it is reported as an
        xfail (never as passed), and the gate's verdict shows it as WAIVED or as a warning."""
        waiver_file = self.session.settings.waiver_file
        waiver: Waiver | None = None
        expired: list[Waiver] = []
        if waiver_file is not None and report.when == "call":
            waiver, expired = waiver_file.applicable(item.nodeid, candidate, today())
        if expired:
            report.contexta_expired_waivers = [w.as_json() for w in expired]  # type: ignore[attr-defined]
        advisory = getattr(report, "contexta_advisory", False)
        if waiver is None and not advisory:
            return
        failure = failure_line(report.longreprtext)
        report.contexta_outcome = "failed"  # type: ignore[attr-defined]  # how the gate reads the phase
        report.contexta_failure = failure  # type: ignore[attr-defined]
        if waiver is not None:
            report.contexta_waiver = waiver.as_json()  # type: ignore[attr-defined]
            reason = (
                f"contexta: WAIVED by {waiver.owner} until {waiver.expires} (waiver line {waiver.line}): "
                f"{waiver.reason}"
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


def _junit_properties(results: list[CheckResult]) -> list[tuple[str, object]]:
    """The helper verdicts as JUnit properties; strings that may come from the workspace are escaped."""
    properties: list[tuple[str, object]] = []
    for result in results:
        data: Mapping[str, object] = result.model_dump(
            mode="json", exclude_none=True, exclude_defaults=True, exclude={"history"}
        )  # history_values carries its numbers
        properties.extend(
            (f"contexta.{name}", printable(value) if isinstance(value, str) else value) for name, value in data.items()
        )
    return properties


def _uses_baseline(item: pytest.Item) -> bool:
    """Whether the check compares with the baseline (only then does it get the history, read once)."""
    return "baseline_run" in getattr(item, "fixturenames", ())
