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
from .results import CheckFields

REPORT_SCHEMA_VERSION: Literal[1] = 1
#: ``inconclusive``: a helper's interval straddled its limit and nothing failed (see --contexta-inconclusive).
Outcome = Literal["passed", "failed", "error", "skipped", "inconclusive"]


class ReportDiagnostic(FrozenModel):
    """A diagnostic of a candidate run; ``contexta_severity`` is Contexta's own view (None: Contexta has none)."""

    code: str
    severity: Literal["info", "warning", "error"]
    subject_ref: str | None
    summary: str
    contexta_severity: Literal["info", "warning", "error"] | None
    source: str


class ReportCheck(CheckFields):
    """One verdict of a gate check: a test's outcome and, when it used a helper, the numbers."""

    nodeid: str
    outcome: Outcome


class CandidateReport(FrozenModel):
    """The verdict on one candidate run."""

    run_ref: str
    verdict: Literal["pass", "fail", "inconclusive"]
    reasons: list[str]
    baseline: BaselineChoice | None
    diagnostics: list[ReportDiagnostic]
    checks: list[ReportCheck]


class GateReport(FrozenModel):
    """Everything a deploy script needs: ``verdict`` is ``pass`` only when every candidate passed."""

    schema_version: Literal[1] = REPORT_SCHEMA_VERSION
    verdict: Literal["pass", "fail"]
    exit_status: int
    workspace: str
    created_at: str
    error: str | None = None
    notes: list[str] = []
    #: What an inconclusive check does to the gate (``--contexta-inconclusive``): ``fail`` or ``pass``.
    inconclusive: Literal["fail", "pass"] = "fail"
    candidates: list[CandidateReport]


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
    arguments = parser.parse_args(argv)
    if arguments.validate:
        return _validate(arguments.validate)
    if arguments.schema:
        print(json.dumps(GateReport.model_json_schema(), indent=2))
        return 0
    parser.print_help()
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
