"""``python -m pytest_contexta.report --explain REPORT.json``: a stored verdict, told for people."""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import ValidationError

from ..text import printable
from ..verdict.report import CandidateReport, GateReport


def explain(report: GateReport) -> list[str]:
    """Why each candidate passed or failed, which waivers counted, and how the verdict was reached."""
    lines = [
        f"verdict: {report.verdict} (exit status {report.exit_status}), decided {report.created_at}",
        f"workspace: {report.workspace}",
    ]
    if report.error:
        lines.append(f"the gate could not decide: {report.error}")
    for candidate in report.candidates:
        lines += ["", *_candidate(candidate)]
    if report.waivers:
        lines += ["", "waivers:", *_waivers(report)]
    if report.notes:
        lines += ["", "notes:", *(f"  {note}" for note in report.notes)]
    lines += ["", *_provenance(report)]
    return [printable(line) for line in lines]


def _candidate(candidate: CandidateReport) -> list[str]:
    """The candidate's verdict, baseline, reasons and warnings, its checks counted by outcome, and those not passed."""
    lines = [f"candidate {candidate.run_ref}: {candidate.verdict}"]
    if candidate.baseline is not None:
        lines.append(
            f"  baseline: {candidate.baseline.run_ref or 'none'} ({candidate.baseline.source}): "
            f"{candidate.baseline.reason}"
        )
    lines += [f"  failed because: {reason}" for reason in candidate.reasons]
    lines += [f"  warning: {warning}" for warning in candidate.warnings]
    counts: dict[str, int] = {}
    for check in candidate.checks:
        counts[check.outcome] = counts.get(check.outcome, 0) + 1
    lines.append("  checks: " + (", ".join(f"{n} {outcome}" for outcome, n in counts.items()) or "none"))
    lines += [
        f"  {check.outcome.upper()} {check.nodeid}: {check.detail}"
        for check in candidate.checks
        if check.outcome != "passed"
    ]
    return lines


def _waivers(report: GateReport) -> list[str]:
    return [
        f"  line {w.line}: {w.status}, owner {w.owner}, expires {w.expires} ({w.days_left} days left)"
        f"{', expires soon' if w.expires_soon else ''}: {w.reason}"
        for w in report.waivers
    ]


def _provenance(report: GateReport) -> list[str]:
    p = report.provenance
    if p is None:
        return ["provenance: not recorded (the gate stopped before it decided)"]
    lines = [
        f"provenance: pytest-contexta {p.plugin_version}, pytest {p.pytest_version}, Python {p.python_version}",
        f"  git commit: {p.git_commit or 'unknown'} ({p.git_commit_source})",
        f"  ledger: {p.ledger.path}, {p.ledger.size} bytes, modified {p.ledger.modified}",
    ]
    if p.waiver_file is not None:
        lines.append(f"  waiver file: {p.waiver_file.path} sha256 {p.waiver_file.sha256}")
    lines += [f"  gate file: {f.path} sha256 {f.sha256 or f.error}" for f in p.gate_files]
    lines += [f"  setting {name}: {s.value} (from {s.source})" for name, s in p.settings.items() if s.value is not None]
    return lines


def explain_file(path: str) -> int:
    """Print the explanation of the report in ``path``; 0 when it could be read, 1 otherwise."""
    try:
        report = GateReport.model_validate_json(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        print(f"{path}: cannot read the report: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except ValidationError:
        print(
            f"{path}: not a valid pytest-contexta report; see python -m pytest_contexta.report --validate {path}",
            file=sys.stderr,
        )
        return 1
    print("\n".join(explain(report)))
    return 0
