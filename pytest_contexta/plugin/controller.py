"""The process that decides: starts the gate, gathers what every check did, and writes the verdict once.

In a plain run that is the only process; under pytest-xdist it is the controller (workers run
:mod:`pytest_contexta.plugin.worker` instead and send their facts here).
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from ..errors import GateError
from ..outputs.paths import OutputPaths
from ..outputs.summary import fitted_lines, terminal_lines
from ..outputs.writing import Outputs, junit_properties, write_error_junit
from ..runs.models import BaselineChoice, Diagnostic
from ..text import first_line, printable
from ..verdict.decide import decide
from ..verdict.facts import GateFacts, RunFacts
from ..verdict.report import GateReport
from ..verdict.waivers import today
from .options import output_paths
from .provenance import collect as collect_provenance
from .session import GateSession
from .tracking import CheckTracker


def error_outputs(config: pytest.Config, message: str, paths: OutputPaths) -> list[str]:
    """A usage error: the report and markdown say fail, a JUnit file says why, the hooks hear it."""
    report = GateReport(
        verdict="fail",
        exit_status=int(pytest.ExitCode.USAGE_ERROR),
        error=message,
        workspace=str(paths.workspace),
        created_at=_now(),
        candidates=[],
    )
    outputs = Outputs(paths)
    outputs.stage()
    errors = outputs.commit(report)
    junit_error = write_error_junit(config, message)
    try:
        config.hook.pytest_contexta_gate_finished(config=config, report=report)
    except Exception as exc:
        errors.append(_hook_error(exc))
    return errors + ([junit_error] if junit_error else [])


#: Options with which pytest only shows what it would run (tests, fixtures) and runs nothing.
_INFO_ONLY = ("collectonly", "showfixtures", "show_fixtures_per_test")


class GateController:
    """Registered while gating, except on xdist workers; its hooks delegate to session, tracker, verdict, outputs."""

    def __init__(self, session: GateSession, tracker: CheckTracker) -> None:
        self.session = session
        self.tracker = tracker
        self.report: GateReport | None = None
        self.output_errors: list[str] = []
        self._worker_baselines: dict[str, dict[str, BaselineChoice]] = {}  # candidate -> worker -> choice
        self._worker_runs: dict[str, RunFacts] = {}
        self._worker_usage_errors: list[str] = []
        self._left_out: list[str] = []

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self._left_out = _left_out(self.session.config)  # before --lf's cache learns this session's failures
        try:
            self.session.start()
        except GateError as exc:
            message = f"contexta: {exc}"
            errors = error_outputs(self.session.config, str(exc), output_paths(self.session.config))
            raise pytest.UsageError("\n".join([message, *errors])) from None

    def _width(self) -> int:
        return int(self.session.config.get_terminal_writer().fullwidth)

    def pytest_report_header(self) -> list[str]:
        return fitted_lines(self.session.settings.header_lines(), self._width())

    def pytest_report_collectionfinish(self) -> list[str]:
        """Each candidate's baseline, decided after collection, when every conftest of it is loaded (in a plain
        run; under xdist the workers decide, and the verdict shows what they chose)."""
        lines = []
        for ref in self.session.candidates:
            try:
                choice = self.session.baseline(ref)
            except GateError as exc:
                lines.append(f"contexta baseline of {ref}: cannot be decided ({printable(str(exc))})")
                continue
            lines.append(f"contexta baseline of {ref}: {choice.run_ref or 'none'} ({printable(choice.reason)})")
        return fitted_lines(lines, self._width())

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        self.tracker.collect_report(report)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.tracker.test_report(report)

    def merge_worker(self, worker: str, output: Mapping[str, Any]) -> None:
        """Take what a finished xdist worker saw: its selection, the baselines it chose, the runs it read."""
        self.tracker.merge(output)
        self._worker_usage_errors += output.get("usage_errors", [])
        for candidate, choice in output.get("baselines", {}).items():
            self._worker_baselines.setdefault(candidate, {})[worker] = BaselineChoice(**choice)
        for ref, facts in output.get("runs", {}).items():
            diagnostics = tuple(Diagnostic.model_validate(d) for d in facts["diagnostics"])
            self._worker_runs.setdefault(ref, RunFacts(diagnostics, tuple(facts["notes"]), facts["error"]))

    @pytest.hookimpl(tryfirst=True)  # before the JUnit writer, which takes the verdict's properties
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        config = self.session.config
        if any(config.getoption(name, False) for name in _INFO_ONLY):
            return  # nothing ran, nothing is decided: the outputs of the last real run stay as they are
        facts = self._facts(int(session.exitstatus))
        outputs = Outputs(output_paths(config))
        facts.errors += outputs.stage()
        report = decide(facts)
        try:
            config.hook.pytest_contexta_gate_finished(config=config, report=report)
        except Exception as exc:
            facts.errors.append(_hook_error(exc))
            report = decide(facts)
        staged_errors = len(outputs.errors)
        outputs.commit(report)
        if len(outputs.errors) > staged_errors:  # a staged file could not be renamed: rare, said in the summary
            report = report.model_copy(update={"verdict": "fail", "exit_status": report.exit_status or 1})
        self.output_errors = outputs.errors
        junit_properties(config, report)
        session.exitstatus = report.exit_status
        self.report = report

    @pytest.hookimpl(wrapper=True, tryfirst=True, specname="pytest_sessionfinish")
    def pytest_sessionfinish_keeps_exit_status(self, session: pytest.Session) -> Generator[None, object, object]:
        """After every other ``pytest_sessionfinish`` (a conftest's "exit 5 is fine" among them): a failed gate
        never exits 0."""
        result = yield
        if self.report is not None and self.report.exit_status and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = self.report.exit_status
            reporter = self.session.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                message = (
                    f"contexta: a pytest_sessionfinish hook set the exit status to 0 after the gate "
                    f"failed; the gate's exit status {self.report.exit_status} stands"
                )
                for line in fitted_lines([message], self._width()):
                    reporter.write_line(line)
        return result

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.report is None:
            return
        terminalreporter.write_sep("=", "contexta gate")
        width = self._width()
        for line in terminal_lines(self.report, width) + fitted_lines(self.output_errors, width):
            terminalreporter.write_line(line)

    def _facts(self, exit_status: int) -> GateFacts:
        settings = self.session.settings
        facts = GateFacts(
            workspace=str(settings.workspace),
            created_at=_now(),
            exit_status=exit_status,
            candidates=list(self.session.candidates),
            selected=self.tracker.selected,
            deselected=self.tracker.deselected,
            outcomes=self.tracker.outcomes,
            left_out=self._left_out,
            allow_partial=settings.allow_partial,
            collection_errors=self.tracker.collection_errors,
            inconclusive=settings.inconclusive,
            inconclusive_source=settings.sources["inconclusive"].source,
            collection_skips=self.tracker.collection_skips,
            crashes=self.tracker.crashes,
            fail_on=settings.fail_on,
            today=today().isoformat(),
            strict_waivers=settings.strict_waivers,
            strict_waivers_source=settings.sources["strict_waivers"].source
            if "strict_waivers" in settings.sources
            else "default",
            waivers=list(settings.waiver_file.waivers) if settings.waiver_file else [],
        )
        for candidate in facts.candidates:
            choice = self._baseline(candidate, facts)
            if choice is not None:
                facts.baselines[candidate] = choice
        refs = [*facts.candidates, *(c.run_ref for c in facts.baselines.values() if c.run_ref)]
        facts.runs = {ref: self._run_facts(ref) for ref in dict.fromkeys(refs)}
        facts.usage_errors = list(
            dict.fromkeys(facts.usage_errors + self.session.usage_errors + self._worker_usage_errors)
        )
        facts.provenance = collect_provenance(self.session.config, settings, [*facts.selected, *facts.deselected])
        return facts

    def _baseline(self, candidate: str, facts: GateFacts) -> BaselineChoice | None:
        """The baseline workers chose (they must agree), else this process's choice, made now if needed."""
        chosen = self._worker_baselines.get(candidate, {})
        if len(set(chosen.values())) > 1:
            facts.usage_errors.append(
                f"xdist workers chose different baselines for {candidate} "
                f"({'; '.join(f'{w}: {c.run_ref}' for w, c in sorted(chosen.items()))}): a "
                f"pytest_contexta_select_baseline hook must give the same answer in every process"
            )
        if chosen:
            return next(iter(chosen.values()))
        try:
            return self.session.baseline(candidate)
        except GateError:
            return None  # the checks that needed it failed with the reason; the candidate's reasons say so

    def _run_facts(self, ref: str) -> RunFacts:
        known = self.session.run_facts(ref) or self._worker_runs.get(ref)
        if known is not None:
            return known
        try:
            self.session.load(ref)
        except GateError:
            pass
        return self.session.run_facts(ref) or RunFacts()


def _left_out(config: pytest.Config) -> list[str]:
    """Selection options that leave gate checks out without pytest counting them as deselected."""
    left_out = [f"the test id {arg} on the command line" for arg in config.args if "::" in arg]
    left_out += [f"--ignore={path}" for path in config.getoption("ignore", None) or []]
    left_out += [f"--ignore-glob={pattern}" for pattern in config.getoption("ignore_glob", None) or []]
    last_failed = config.pluginmanager.get_plugin("lfplugin")
    if config.getoption("lf", False) and getattr(last_failed, "lastfailed", None):
        left_out.append("--lf ran only the checks that failed last time")
    return left_out


def _hook_error(exc: Exception) -> str:
    return (
        f"contexta: a pytest_contexta_gate_finished hook raised {type(exc).__name__}: "
        f"{first_line(str(exc)) or 'no message'}; the gate counts as failed"
    )


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
