"""The machine-readable verdict: a versioned pydantic model written as JSON once per session.

``python -m pytest_contexta.report --schema`` prints its JSON Schema.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from .frozen import FrozenModel
from .models import BaselineChoice
from .provenance import Provenance
from .results import CheckFields

REPORT_SCHEMA_VERSION: Literal[2] = 2
#: ``warning``: an advisory check that did not pass; ``waived``: a failure a valid waiver covers;
#: ``inconclusive``: a helper's interval straddled its limit and nothing failed (see --contexta-inconclusive).
Outcome = Literal["passed", "failed", "error", "skipped", "warning", "waived", "inconclusive"]
Verdict = Literal["pass", "pass-with-warnings", "inconclusive", "fail"]
#: Worst first: the overall verdict is the first of these any candidate has.
VERDICT_PRECEDENCE: tuple[Verdict, ...] = ("fail", "inconclusive", "pass-with-warnings", "pass")


class ReportDiagnostic(FrozenModel):
    """A diagnostic of a candidate run; ``contexta_severity`` is Contexta's own view (None: Contexta has none)."""

    code: str
    severity: Literal["info", "warning", "error"]
    subject_ref: str | None
    summary: str
    contexta_severity: Literal["info", "warning", "error"] | None
    source: str


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
    diagnostics: list[ReportDiagnostic]
    checks: list[ReportCheck]


class GateReport(FrozenModel):
    """Everything a deploy script needs: ``verdict`` is ``pass`` only when every candidate passed."""

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


def _validate(path: str) -> int:
    """Print whether ``path`` holds a valid report; 0 when it does, 1 otherwise."""
    try:
        report = GateReport.model_validate_json(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        print(f"{path}: cannot read the report: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(document)'}: {e['msg']}" for e in exc.errors())
        print(f"{path}: not a pytest-contexta report (schema version {REPORT_SCHEMA_VERSION}): {problems}. "
              f"Compare it with python -m pytest_contexta.report --schema", file=sys.stderr)
        return 1
    print(f"{path}: valid report, verdict {report.verdict}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_contexta.report",
                                     description="The pytest-contexta JSON report format.")
    parser.add_argument("--schema", action="store_true", help="print the report's JSON Schema")
    parser.add_argument("--validate", metavar="FILE", help="check that FILE is a valid report")
    parser.add_argument("--explain", metavar="FILE",
                        help="print why each candidate of a stored report passed or failed, and how it was decided")
    arguments = parser.parse_args(argv)
    if arguments.validate:
        return _validate(arguments.validate)
    if arguments.explain:
        from .explain import explain_file

        return explain_file(arguments.explain)
    if arguments.schema:
        print(json.dumps(GateReport.model_json_schema(), indent=2))
        return 0
    parser.print_help()
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
