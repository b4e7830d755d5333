"""Diagnostics of a run: Contexta's own ``diagnose_run`` checks, plus where a gate must be stricter.

Same codes, subjects and summaries as Contexta 1.0, in the same order. The differences are
deliberate and listed in docs/failure-modes.md ("Where the gate is stricter than Contexta"):

* ``degraded_record`` is an error when the degraded record's own payload severity is ``error``
  (Contexta always says warning);
* ``run_not_completed`` (error): the run is ``failed``, ``cancelled`` or still ``open``;
* ``unreadable_record`` (error): a segment line of the run cannot be read;
* ``error_event`` (error): an event of level ``error`` or ``critical``; ``warning_event`` (warning):
  an event of level ``warning``. Contexta never reports events.
"""

from __future__ import annotations

from ..reading.records import DegradedRecord, EventRecord
from ..text import first_line, printable
from .models import ContextaRun, Diagnostic, Severity

EXPECTED_TERMINAL_STAGES = ("evaluate", "package")
SOURCE = "pytest-contexta"
#: Event levels that make an event an error or a warning diagnostic.
EVENT_SEVERITY: dict[str, Severity] = {"critical": "error", "error": "error", "warning": "warning"}


def _issue(
    code: str,
    severity: Severity,
    summary: str,
    subject: str | None,
    details: dict[str, object],
    contexta_severity: Severity | None,
) -> Diagnostic:
    return Diagnostic(
        code=code,
        severity=severity,
        summary=summary,
        subject_ref=subject,
        details=details,
        contexta_severity=contexta_severity,
        source=SOURCE,
    )


def builtin_diagnostics(run: ContextaRun) -> list[Diagnostic]:
    """Every issue the gate itself finds on ``run``."""
    return [
        *_degraded_issues(run),
        *_stage_issues(run),
        *_batch_issues(run),
        *_deployment_issues(run),
        *_missing_stage_issues(run),
        *_run_issues(run),
        *(_event_issue(event, EVENT_SEVERITY[event.level]) for event in run.events if event.level in EVENT_SEVERITY),
        *_unreadable_issues(run),
    ]


def _degraded_issues(run: ContextaRun) -> list[Diagnostic]:
    issues = []
    for record in run.marked_degraded():
        own_error = isinstance(record, DegradedRecord) and record.severity == "error"
        issues.append(
            _issue(
                "degraded_record",
                "error" if own_error else "warning",
                f"degraded record detected for {record.key}",
                record.ref,
                {
                    "record_type": record.record_type,
                    "degradation_marker": record.degradation_marker,
                    "stage_id": record.stage_ref,
                },
                "warning",
            )
        )
    return issues


def _stage_issues(run: ContextaRun) -> list[Diagnostic]:
    """Stages not completed, and completed stages without metric records."""
    issues = []
    stages_with_metrics = run.metric_stage_refs()
    for stage in run.stages:
        if stage.status != "completed":
            issues.append(
                _issue(
                    "incomplete_stage",
                    "warning",
                    f"stage {stage.name} is not completed",
                    stage.ref,
                    {"status": stage.status, "run_id": run.ref},
                    "warning",
                )
            )
        elif stage.ref not in stages_with_metrics:
            issues.append(
                _issue(
                    "missing_stage_metrics",
                    "info",
                    f"completed stage {stage.name} has no metric records",
                    stage.ref,
                    {"stage_name": stage.name, "run_id": run.ref},
                    "info",
                )
            )
    return issues


def _batch_issues(run: ContextaRun) -> list[Diagnostic]:
    """Failed batches, and batches that ended neither completed nor still open."""
    issues = []
    for batch in run.batches:
        if batch.status == "failed":
            issues.append(
                _issue(
                    "failed_batch",
                    "error",
                    f"batch {batch.name} failed",
                    batch.ref,
                    {"batch_id": batch.ref, "stage_id": batch.stage_ref, "run_id": run.ref},
                    "error",
                )
            )
        elif batch.status not in ("completed", "open"):
            issues.append(
                _issue(
                    "incomplete_batch",
                    "warning",
                    f"batch {batch.name} ended with status {batch.status}",
                    batch.ref,
                    {"batch_id": batch.ref, "status": batch.status, "run_id": run.ref},
                    "warning",
                )
            )
    return issues


def _deployment_issues(run: ContextaRun) -> list[Diagnostic]:
    return [
        _issue(
            "failed_deployment",
            "error",
            f"deployment {deployment.name} failed",
            deployment.ref,
            {"deployment_id": deployment.ref, "run_id": run.ref},
            "error",
        )
        for deployment in run.deployments
        if deployment.status == "failed"
    ]


def _missing_stage_issues(run: ContextaRun) -> list[Diagnostic]:
    present = {stage.name for stage in run.stages}
    return [
        _issue(
            "missing_expected_stage",
            "info",
            f"expected terminal stage {expected} is missing",
            run.ref,
            {"expected_stage_name": expected, "run_id": run.ref},
            "info",
        )
        for expected in EXPECTED_TERMINAL_STAGES
        if expected not in present
    ]


def _run_issues(run: ContextaRun) -> list[Diagnostic]:
    if run.status == "completed":
        return []
    return [
        _issue(
            "run_not_completed",
            "error",
            f"run {run.name} is {run.status}, not completed",
            run.ref,
            {"status": run.status},
            None,
        )
    ]


def _unreadable_issues(run: ContextaRun) -> list[Diagnostic]:
    return [
        _issue(
            "unreadable_record",
            "error",
            f"{line.location} cannot be read: {line.reason}",
            run.ref,
            {"segment": line.location.segment, "line": line.location.line, "byte_offset": line.location.byte_offset},
            None,
        )
        for line in run.damaged
    ]


def _event_issue(event: EventRecord, severity: Severity) -> Diagnostic:
    return _issue(
        f"{severity}_event",
        severity,
        f"{event.level} event {printable(event.key)}: {printable(first_line(event.message))}",
        event.ref,
        {"event_key": event.key, "level": event.level, "stage_id": event.stage_ref},
        None,
    )
