"""The machine-readable verdict: a versioned pydantic model written as JSON once per session.

``python -m pytest_contexta.report --schema`` prints its JSON Schema.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema
from typing_extensions import TypedDict  # pydantic reads typing.TypedDict only on Python 3.12+

from ..checks.results import CheckFields
from ..frozen import FrozenModel
from ..runs.models import BaselineChoice, Diagnostic, Severity
from .provenance import Provenance

REPORT_SCHEMA_VERSION: Literal[2] = 2
#: ``warning``: an advisory check that did not pass; ``waived``: a failure a valid waiver covers;
#: ``inconclusive``: a helper's interval straddled its limit and nothing failed (see --contexta-inconclusive).
Outcome = Literal["passed", "failed", "error", "skipped", "warning", "waived", "inconclusive"]
Verdict = Literal["pass", "pass-with-warnings", "inconclusive", "fail"]
#: Worst first: the overall verdict is the first of these any candidate has.
VERDICT_PRECEDENCE: tuple[Verdict, ...] = ("fail", "inconclusive", "pass-with-warnings", "pass")


class ReportDiagnostic(TypedDict):
    """A diagnostic of a candidate run; ``contexta_severity`` is Contexta's own view (None: Contexta has none)."""

    # How the report writes a Diagnostic, not a second type: without its free-form ``details``, and (read with the
    # report models' config) refusing unknown keys like them.
    code: str
    severity: Severity
    subject_ref: str | None
    summary: str
    contexta_severity: Severity | None
    source: str


class _AsReported:
    """A :class:`Diagnostic` validated and written as a :class:`ReportDiagnostic` (the report's schema says so)."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: object, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_wrap_validator_function(
            _diagnostic,
            handler.generate_schema(ReportDiagnostic),
            serialization=core_schema.plain_serializer_function_ser_schema(_as_reported),
        )


def _diagnostic(value: object, validate: core_schema.ValidatorFunctionWrapHandler) -> Diagnostic:
    """A run's diagnostic as it is; a report's JSON entry read back into one."""
    return value if isinstance(value, Diagnostic) else Diagnostic(**validate(value))


def _as_reported(diagnostic: Diagnostic) -> ReportDiagnostic:
    return ReportDiagnostic(
        code=diagnostic.code,
        severity=diagnostic.severity,
        subject_ref=diagnostic.subject_ref,
        summary=diagnostic.summary,
        contexta_severity=diagnostic.contexta_severity,
        source=diagnostic.source,
    )


class WaiverUse(FrozenModel):
    """The waiver-file entry that covered a failing check (or would have, had it not ``expired``)."""

    line: int
    owner: str
    reason: str
    expires: str
    expired: bool


class ReportCheck(CheckFields):
    """One verdict of a gate check: a test's outcome and, when it used a helper, the numbers.

    ``warning``: an advisory check that did not pass; ``waived``: a failure covered by a valid waiver.
    """

    nodeid: str
    outcome: Outcome
    advisory: bool = False
    waiver: WaiverUse | None = None


class ReportWaiver(FrozenModel):
    """One entry of the waiver file and what became of it in this session."""

    line: int
    check: str
    candidate: str
    reason: str
    owner: str
    expires: str
    blanket: bool = False  # written blanket = true: it may waive every gate check of a candidate
    status: Literal["applied", "unused", "expired"]
    days_left: int
    expires_soon: bool
    waived: list[str]  # node ids of the checks it waived
    gated: list[str]  # the candidates of this session it covers


class CandidateReport(FrozenModel):
    """The verdict on one candidate run."""

    run_ref: str
    verdict: Verdict
    reasons: list[str]
    warnings: list[str] = []
    baseline: BaselineChoice | None
    diagnostics: list[Annotated[Diagnostic, _AsReported]]
    checks: list[ReportCheck]


class GateReport(FrozenModel):
    """Everything a deploy script needs: ``verdict`` is the worst candidate verdict (``inconclusive`` included;
    ``fail`` also when the session failed outside the candidates), ``exit_status`` the deploy decision."""

    schema_version: Literal[2] = REPORT_SCHEMA_VERSION
    verdict: Verdict
    exit_status: int
    workspace: str
    created_at: str
    error: str | None = None
    notes: list[str] = []
    #: What an inconclusive check does to the gate (``--contexta-inconclusive``): ``fail`` or ``pass``.
    inconclusive: Literal["fail", "pass"] = "fail"
    candidates: list[CandidateReport]
    waivers: list[ReportWaiver] = []
    provenance: Provenance | None = None
