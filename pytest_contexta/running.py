"""Running gate checks, in every process that collects them: parametrize, record helper verdicts, skip policy."""

from __future__ import annotations

from collections.abc import Generator, Mapping

import pytest

from .results import CheckContext, CheckResult, recording
from .session import GateSession
from .text import printable
from .tracking import CANDIDATE_PARAM, CheckTracker, candidate_of, skip_reason

OPTIONAL_MARKER = "contexta_optional"
CHECK_CONTEXT_KEY = pytest.StashKey[CheckContext]()
BASELINE_NONE_KEY = pytest.StashKey[bool]()


class CheckRunner:
    """Registered while gating; its hooks delegate to the session and the tracker."""

    def __init__(self, session: GateSession, tracker: CheckTracker) -> None:
        self.session = session
        self.tracker = tracker

    def pytest_plugin_registered(self, plugin: object) -> None:
        self.session.plugin_registered(plugin)

    @pytest.hookimpl(trylast=True)  # after the test's own parameters: [latency-p95-ms-run:p.candidate]
    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Every gate check once per candidate; the candidate's id comes last, where ``-run:`` starts it."""
        if CANDIDATE_PARAM in metafunc.fixturenames:
            candidates = self.session.candidates
            metafunc.parametrize(CANDIDATE_PARAM, candidates, indirect=True, ids=candidates)

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
            report.longrepr = (f"contexta: gate check skipped ({reason}); a skipped check does not pass the "
                               f"gate. Mark it @pytest.mark.{OPTIONAL_MARKER} if it may be skipped.")
        return report


def _junit_properties(results: list[CheckResult]) -> list[tuple[str, object]]:
    """The helper verdicts as JUnit properties; strings that may come from the workspace are escaped."""
    properties: list[tuple[str, object]] = []
    for result in results:
        data: Mapping[str, object] = result.model_dump(mode="json", exclude_none=True)
        properties.extend((f"contexta.{name}", printable(value) if isinstance(value, str) else value)
                          for name, value in data.items())
    return properties
