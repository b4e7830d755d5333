"""The gate session: resolves candidates and baselines, serves runs to fixtures, and keeps the verdict."""

from __future__ import annotations

import os
import re
from collections.abc import Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

import pytest
from pydantic import ValidationError

from . import results as checks
from .errors import GateError, RunLookupError
from .models import BaselineChoice, ContextaRun, Diagnostic, first_problem
from .options import BASELINE_LATEST, BASELINE_NONE, Settings
from .refs import parse_run_ref
from .report import CandidateReport, GateReport, Outcome, ReportCheck, ReportDiagnostic
from .results import CheckContext, CheckResult
from .summary import markdown_table, terminal_lines
from .workspace import Workspace

CANDIDATE_PARAM = "contexta_candidate"
OPTIONAL_MARKER = "contexta_optional"
WORKER_INPUT_KEY = "contexta"
WORKER_OUTPUT_KEY = "contexta"
CHECK_CONTEXT_KEY = pytest.StashKey[CheckContext]()
BASELINE_NONE_KEY = pytest.StashKey[bool]()
_XDIST_WORKER_LINE = re.compile(r"\[gw\d+\] ")  # xdist puts "[gw0] linux -- Python …" before a remote failure


def candidate_of(item: pytest.Item) -> str | None:
    """The candidate a test checks, or None when it is not a gate check."""
    callspec = getattr(item, "callspec", None)
    return None if callspec is None else callspec.params.get(CANDIDATE_PARAM)


@dataclass
class _TestOutcome:
    """The phases of one gate check as they arrive in reports (from this process or xdist workers)."""

    nodeid: str
    candidate: str
    phases: dict[str, str] = field(default_factory=dict)
    message: str = ""
    results: list[dict[str, Any]] = field(default_factory=list)

    def add(self, report: pytest.TestReport) -> None:
        self.phases[report.when] = report.outcome
        if report.when == "call":
            self.results = list(getattr(report, "contexta_checks", []))
        if report.failed:
            self.message = self.message or _first_line(report.longreprtext)
        elif report.skipped:
            self.message = _skip_reason(report)

    @property
    def outcome(self) -> Outcome:
        """passed only when the test body ran and passed; a check interrupted before that is an error."""
        if "failed" in (self.phases.get("setup"), self.phases.get("teardown")):
            return "error"
        if self.phases.get("call") == "failed":
            return "failed"
        if "skipped" in (self.phases.get("setup"), self.phases.get("call")):
            return "skipped"
        if self.phases.get("call") == "passed":
            return "passed"
        self.message = self.message or "the check started but never finished (the session was interrupted)"
        return "error"


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip() and not _XDIST_WORKER_LINE.match(line)]
    errors = [line[1:].strip() for line in lines if line.startswith("E ")]
    return (errors or lines or [""])[0]


def _skip_reason(report: pytest.TestReport) -> str:
    if hasattr(report, "wasxfail"):
        return f"xfail: {report.wasxfail}" if report.wasxfail else "xfail"
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return _first_line(report.longreprtext)


class GateSession:
    """Registered as a plugin while candidates are given; all gate state lives here."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.workspace: Workspace | None = None
        self.candidates: list[str] = []
        self.baselines: dict[str, BaselineChoice] = {}
        self.report: GateReport | None = None
        self._runs: dict[str, ContextaRun | GateError] = {}
        self._outcomes: dict[str, _TestOutcome] = {}
        self._collection_order: dict[str, int] = {}
        self._collected: dict[str, str] = {}  # gate check nodeid -> candidate, as selected to run
        self._collection_skips: list[str] = []
        self._output_errors: list[str] = []

    def close(self) -> None:
        if self.workspace is not None:
            self.workspace.close()

    @property
    def is_worker(self) -> bool:
        return hasattr(self.config, "workerinput")

    # -- start: decide candidates and baselines once, on the controller ------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        try:
            self.workspace = Workspace(self.settings.workspace, lock_timeout=self.settings.lock_timeout)
            if self.is_worker:
                shared = self.config.workerinput[WORKER_INPUT_KEY]  # type: ignore[attr-defined]
                self.candidates = list(shared["candidates"])
                self.baselines = {ref: BaselineChoice(**c) for ref, c in shared["baselines"].items()}
                return
            with self.workspace.reading():
                self._start()
        except GateError as exc:
            message = f"contexta: {exc}"
            if not self.is_worker:
                report = self._error_report(str(exc))
                self._write_outputs(report)
                self.config.hook.pytest_contexta_gate_finished(config=self.config, report=report)
                message = "\n".join([message, *self._output_errors])
            raise pytest.UsageError(message) from None

    def _start(self) -> None:
        """Resolve the candidates, choose their baselines and read them all, within one ledger connection.

        An unreadable baseline is not an error here: :meth:`load` keeps the error for the checks that use it.
        """
        assert self.workspace is not None
        for text in self.settings.candidates:
            ref = self.workspace.resolve_run(text).text
            if ref not in self.candidates:
                self.candidates.append(ref)
        for ref in self.candidates:
            self.baselines[ref] = self._choose_baseline(self.load(ref))
        for choice in self.baselines.values():
            if choice.run_ref is not None:
                try:
                    self.load(choice.run_ref)
                except GateError:
                    continue

    def worker_input(self) -> dict[str, Any]:
        """JSON-safe data every xdist worker needs: the resolved candidates and their baselines."""
        return {"candidates": self.candidates,
                "baselines": {ref: choice.model_dump(mode="json") for ref, choice in self.baselines.items()}}

    def _choose_baseline(self, candidate: ContextaRun) -> BaselineChoice:
        assert self.workspace is not None
        setting = self.settings.baseline
        source = self.settings.sources["baseline"].source
        if setting == BASELINE_NONE:
            return BaselineChoice(run_ref=None, source="none",
                                  reason=f"first deployment declared (--contexta-baseline=none, from {source})")
        if setting != BASELINE_LATEST:
            choice = BaselineChoice(run_ref=self.workspace.resolve_run(setting).text, source="option",
                                    reason=f"given by --contexta-baseline (from {source})")
        else:
            answer = self.config.hook.pytest_contexta_select_baseline(
                config=self.config, candidate=candidate, workspace=self.workspace)
            choice = self._normalize_choice(answer, candidate.ref)
        if choice.run_ref == candidate.ref:
            raise GateError(f"candidate {candidate.ref} is also its own baseline ({choice.reason}): "
                            f"choose another run with --contexta-baseline")
        return choice

    def _normalize_choice(self, answer: object, candidate: str) -> BaselineChoice:
        assert self.workspace is not None
        try:
            if isinstance(answer, str):
                return BaselineChoice(run_ref=self.workspace.resolve_run(answer).text,
                                      reason="chosen by a pytest_contexta_select_baseline hook", source="hook")
            if isinstance(answer, BaselineChoice):
                if answer.run_ref is None:
                    return answer
                return answer.model_copy(update={"run_ref": self.workspace.resolve_run(answer.run_ref).text})
        except RunLookupError as exc:
            raise GateError(f"pytest_contexta_select_baseline chose {answer!r} as the baseline of {candidate}, "
                            f"which cannot be used: {exc}") from exc
        raise GateError(f"pytest_contexta_select_baseline returned {answer!r} for {candidate}: return a "
                        f"BaselineChoice, a run ref, or None to leave the choice to the default rule")

    @pytest.hookimpl(trylast=True)
    def pytest_contexta_select_baseline(self, candidate: ContextaRun, workspace: Workspace) -> BaselineChoice:
        """Default rule: the run behind the project's latest completed deployment."""
        deployment, passed_over = workspace.latest_completed_deployment(candidate.project, exclude_run=candidate.ref)
        skipped = f"; passed over newer {', '.join(passed_over)}" if passed_over else ""
        if deployment is None:
            return BaselineChoice(
                run_ref=None, source="latest-deployment",
                reason=f"project {candidate.project} has no completed deployment of another run{skipped}. "
                       f"Choose one with --contexta-baseline=RUN, or --contexta-baseline=none for a "
                       f"first deployment")
        return BaselineChoice(
            run_ref=deployment.run_ref, source="latest-deployment",
            reason=f"deployed as {deployment.name} ({deployment.started_at}), the latest completed "
                   f"deployment of {candidate.project}{skipped}")

    # -- runs --------------------------------------------------------------------------------------

    def load(self, ref: str) -> ContextaRun:
        """The run ``ref`` with every diagnostic, read once per session; raises :class:`GateError`."""
        if ref not in self._runs:
            try:
                self._runs[ref] = self._load(ref)
            except GateError as exc:
                self._runs[ref] = exc
        loaded = self._runs[ref]
        if isinstance(loaded, GateError):
            raise loaded
        return loaded

    def _load(self, ref: str) -> ContextaRun:
        assert self.workspace is not None
        run = self.workspace.load_run(parse_run_ref(ref))
        extra: list[Diagnostic] = []
        for answer in self.config.hook.pytest_contexta_diagnostics(run=run):
            if isinstance(answer, (Diagnostic, dict)):
                answer = [answer]
            if isinstance(answer, str) or not isinstance(answer, (Iterable, type(None))):
                raise GateError(f"pytest_contexta_diagnostics returned {answer!r} for {ref}: return a list of "
                                f"Diagnostic objects, or None when there is nothing to add")
            for item in answer or ():
                try:
                    extra.append(item if isinstance(item, Diagnostic) else Diagnostic.model_validate(item))
                except ValidationError as exc:
                    raise GateError(f"pytest_contexta_diagnostics returned {item!r} for {ref}, which is not "
                                    f"a Diagnostic: {first_problem(exc)}") from exc
        return run.model_copy(update={"diagnostics": run.diagnostics + tuple(extra)})

    def baseline_for(self, candidate: str) -> BaselineChoice:
        return self.baselines[candidate]

    # -- collection and running --------------------------------------------------------------------

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if CANDIDATE_PARAM in metafunc.fixturenames:
            metafunc.parametrize(CANDIDATE_PARAM, self.candidates, indirect=True, ids=self.candidates)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, object, object]:
        """Give every test the ini direction rules; record helper verdicts of gate checks."""
        candidate = candidate_of(item)
        choice = self.baselines.get(candidate) if candidate else None
        context = CheckContext(
            baseline_reasons={choice.run_ref: choice.reason} if choice and choice.run_ref else {},
            lower_is_better=self.settings.lower_is_better,
            higher_is_better=self.settings.higher_is_better,
            replicate_tags=self.settings.replicate_tags,
        )
        if candidate is not None:
            item.stash[CHECK_CONTEXT_KEY] = context
        try:
            with checks.recording(context):
                return (yield)
        finally:
            if candidate is not None:
                item.user_properties.extend(_junit_properties(context.results))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
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
            reason = _skip_reason(report)
            report.outcome = "failed"
            if hasattr(report, "wasxfail"):
                del report.wasxfail
            report.longrepr = (f"contexta: gate check skipped ({reason}); a skipped check does not pass the "
                               f"gate. Mark it @pytest.mark.{OPTIONAL_MARKER} if it may be skipped.")
        return report

    def record_collection_order(self, nodeids: Sequence[str]) -> None:
        """Remember the collection order (from this process, or from the first xdist worker to collect)."""
        if not self._collection_order:
            self._collection_order = {nodeid: index for index, nodeid in enumerate(nodeids)}

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.record_collection_order([item.nodeid for item in session.items])
        for item in session.items:
            candidate = candidate_of(item)
            if candidate is not None:
                self._collected[item.nodeid] = candidate

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.skipped:
            reason = _skip_reason(report)  # type: ignore[arg-type]
            self._collection_skips.append(f"{report.nodeid or 'a test directory'} ({reason})")

    def worker_output(self) -> dict[str, Any]:
        """JSON-safe facts only a worker sees: the gate checks it collected, the modules it skipped."""
        return {"collected": self._collected, "collection_skips": self._collection_skips}

    def merge_worker_output(self, output: Mapping[str, Any]) -> None:
        self._collected.update(output.get("collected", {}))
        for skip in output.get("collection_skips", []):
            if skip not in self._collection_skips:
                self._collection_skips.append(skip)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        candidate = getattr(report, "contexta_candidate", None)
        if candidate is None or self.is_worker:
            return
        self._outcomes.setdefault(report.nodeid, _TestOutcome(report.nodeid, candidate)).add(report)

    # -- verdict -------------------------------------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.is_worker:
            self.config.workeroutput[WORKER_OUTPUT_KEY] = self.worker_output()  # type: ignore[attr-defined]
            return
        candidates = [self._candidate_report(ref) for ref in self.candidates]
        failed = not candidates or any(c.verdict == "fail" for c in candidates)
        if failed and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        report = self._gate_report(candidates, int(session.exitstatus))
        self._write_outputs(report)
        if self._output_errors and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
            report = report.model_copy(update={"verdict": "fail", "exit_status": int(session.exitstatus)})
        self.report = report
        self.config.hook.pytest_contexta_gate_finished(config=self.config, report=report)

    def _gate_report(self, candidates: list[CandidateReport], status: int) -> GateReport:
        """The session's verdict: ``pass`` only when every candidate passed and pytest exits 0."""
        passed = status == pytest.ExitCode.OK and all(c.verdict == "pass" for c in candidates)
        verdict: Literal["pass", "fail"] = "pass" if passed else "fail"
        return GateReport(verdict=verdict, exit_status=status, workspace=str(self.settings.workspace),
                          created_at=_now(), candidates=candidates, notes=self._notes())

    def _notes(self) -> list[str]:
        """What the reader noticed on every run the gate used, candidates and baselines alike."""
        refs = [*self.candidates, *(c.run_ref for c in self.baselines.values() if c.run_ref)]
        notes = []
        for ref in dict.fromkeys(refs):
            try:
                notes += [f"{ref}: {note}" for note in self.load(ref).reader_notes]
            except GateError:
                continue  # the candidate's reasons say it could not be read
        return notes

    def _candidate_report(self, ref: str) -> CandidateReport:
        unknown = len(self._collection_order)  # sorted() is stable: checks never collected keep their order
        outcomes = sorted((o for o in self._outcomes.values() if o.candidate == ref),
                          key=lambda o: self._collection_order.get(o.nodeid, unknown))
        reasons, diagnostics = [], []
        try:
            diagnostics = [ReportDiagnostic(code=d.code, severity=d.severity, subject_ref=d.subject_ref,
                                            summary=d.summary, contexta_severity=d.contexta_severity,
                                            source=d.source) for d in self.load(ref).diagnostics]
        except GateError as exc:
            reasons.append(f"the run could not be read: {exc}")
        report_checks = [check for outcome in outcomes for check in _report_checks(outcome)]
        selected = {nodeid for nodeid, candidate in self._collected.items() if candidate == ref}
        total = len(selected | {o.nodeid for o in outcomes})
        if not total:
            reasons.append("no gate check ran for this candidate: none was collected, or all were deselected "
                           "(-k/-m) — check the path and the selection")
        never_ran = selected - {o.nodeid for o in outcomes}
        if never_ran:
            reasons.append(f"{len(never_ran)} of {total} gate checks never ran (the session stopped early: "
                           f"a collection error, -x/--maxfail, pytest.exit or a crash)")
        bad = [o for o in outcomes if o.outcome in ("failed", "error")]
        if bad:
            reasons.append(f"{len(bad)} of {total} gate checks did not pass")
        if outcomes and not bad and not any(o.outcome == "passed" for o in outcomes):
            reasons.append("no gate check passed (all were skipped)")
        if self._collection_skips:
            reasons.append(f"skipped at collection, so their checks never ran: {'; '.join(self._collection_skips)}")
        return CandidateReport(run_ref=ref, verdict="fail" if reasons else "pass", reasons=reasons,
                               baseline=self.baselines.get(ref), diagnostics=diagnostics, checks=report_checks)

    def _error_report(self, message: str) -> GateReport:
        return GateReport(verdict="fail", exit_status=int(pytest.ExitCode.USAGE_ERROR), error=message,
                          workspace=str(self.settings.workspace), created_at=_now(), candidates=[])

    def _write_outputs(self, report: GateReport) -> None:
        """Write the JSON report and the markdown summaries; a path that cannot be written is remembered."""
        if self.settings.report is not None:
            try:
                report.write(self.settings.report)
            except OSError as exc:
                self._output_error("the JSON report", self.settings.report, "--contexta-report", exc)
        markdown = {str(self.settings.markdown): "--contexta-markdown"} if self.settings.markdown else {}
        if os.environ.get("GITHUB_STEP_SUMMARY"):
            markdown.setdefault(os.environ["GITHUB_STEP_SUMMARY"], "GITHUB_STEP_SUMMARY")
        for target, origin in markdown.items():
            try:
                with open(target, "a", encoding="utf-8") as handle:
                    handle.write(markdown_table(report))
            except OSError as exc:
                self._output_error("the markdown summary", target, origin, exc)

    def _output_error(self, what: str, path: object, origin: str, exc: OSError) -> None:
        self._output_errors.append(f"contexta: cannot write {what} to {path} (from {origin}): "
                                   f"{exc.strerror or exc}; fix the path, the gate counts as failed")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.report is None or self.is_worker:
            return
        terminalreporter.write_sep("=", "contexta gate")
        for line in terminal_lines(self.report) + self._output_errors:
            terminalreporter.write_line(line)

    def pytest_report_header(self) -> list[str]:
        lines = self.settings.header_lines()
        for ref in self.candidates:
            choice = self.baselines.get(ref)
            if choice is not None:
                lines.append(f"contexta baseline of {ref}: {choice.run_ref or 'none'} ({choice.reason})")
        return lines


def _report_checks(outcome: _TestOutcome) -> list[ReportCheck]:
    """One entry per helper verdict, plus one for the test itself when its outcome is not explained by them."""
    entries = []
    for data in outcome.results:
        result = CheckResult(**data)
        entries.append(ReportCheck(nodeid=outcome.nodeid, outcome="passed" if result.passed else "failed",
                                   **result.model_dump(exclude={"passed", "run_ref", "outcome"})))
    if not entries or (outcome.outcome != "passed" and all(e.outcome == "passed" for e in entries)):
        entries.append(ReportCheck(nodeid=outcome.nodeid, outcome=outcome.outcome, kind="custom",
                                   detail=outcome.message or "passed"))
    return entries


def _junit_properties(results: list[CheckResult]) -> list[tuple[str, object]]:
    properties: list[tuple[str, object]] = []
    for result in results:
        data: Mapping[str, object] = result.model_dump(mode="json", exclude_none=True)
        properties.extend((f"contexta.{name}", value) for name, value in data.items())
    return properties


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
