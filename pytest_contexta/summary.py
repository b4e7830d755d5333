"""Render the verdict for people: the terminal table and the markdown summary (pure functions)."""

from __future__ import annotations

from tabulate import tabulate

from .report import CandidateReport, GateReport, ReportCheck
from .text import printable

_RESULT = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "skipped": "SKIP", "warning": "WARN",
           "waived": "WAIVED", "inconclusive": "INCONCLUSIVE"}
_ICON = {"pass": "✅", "pass-with-warnings": "⚠️", "inconclusive": "❔", "fail": "❌"}
_HEADERS = ["check", "result", "metric", "candidate", "baseline", "change", "limit", "direction / detail"]
_DETAIL_WIDTH = 100


def _short_name(nodeid: str, candidate: str) -> str:
    name = nodeid.split("::", 1)[-1]
    for text, replacement in ((f"[{candidate}]", ""), (f"{candidate}-", ""), (f"-{candidate}", "")):
        name = name.replace(text, replacement)
    return name


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def _change(check: ReportCheck) -> str:
    if check.change_abs is None:
        return ""
    relative = "" if check.change_rel is None else f" ({check.change_rel:+.2%})"
    return f"{check.change_abs:+.4g}{relative}"


def _clip(text: str) -> str:
    return text if len(text) <= _DETAIL_WIDTH else text[: _DETAIL_WIDTH - 1] + "…"


def _rows(candidate: CandidateReport) -> list[list[str]]:
    rows = []
    for check in candidate.checks:
        metric = check.metric or ""
        if check.metric and check.stage:
            metric += f" @{check.stage}"
        if check.metric and check.slice:
            metric += f" [{check.slice}]"
        numeric = check.kind == "regression" and check.change_abs is not None
        detail = check.direction if numeric else check.detail
        rows.append([printable(_short_name(check.nodeid, candidate.run_ref)), _RESULT[check.outcome],
                     printable(metric), _number(check.candidate_value), _number(check.baseline_value),
                     _change(check), printable(check.limit or ""), _clip(printable(detail or ""))])
    return rows


def _baseline_line(candidate: CandidateReport) -> str:
    if candidate.baseline is None:
        return "baseline:  (not decided)"
    return f"baseline:  {printable(candidate.baseline.run_ref or 'none')} — {printable(candidate.baseline.reason)}"


def _verdict_line(candidate: CandidateReport) -> str:
    if candidate.verdict == "pass":
        return f"GATE PASSED for {printable(candidate.run_ref)}"
    if candidate.verdict == "pass-with-warnings":
        why = printable("; ".join(candidate.warnings))
        return f"GATE PASSED WITH WARNINGS for {printable(candidate.run_ref)}: {why}"
    if candidate.verdict == "inconclusive":
        return f"GATE INCONCLUSIVE for {printable(candidate.run_ref)}: {printable('; '.join(candidate.reasons))}"
    return f"GATE FAILED for {printable(candidate.run_ref)}: {printable('; '.join(candidate.reasons))}"


def terminal_lines(report: GateReport) -> list[str]:
    """The verdict block printed at the end of the session, one block per candidate."""
    lines: list[str] = []
    for candidate in report.candidates:
        errors = [d for d in candidate.diagnostics if d.severity == "error"]
        lines += [f"candidate: {printable(candidate.run_ref)}", _baseline_line(candidate)]
        if errors:
            lines.append("errors:    " + printable("; ".join(f"{d.code} ({d.summary})" for d in errors)))
        if candidate.checks:
            lines += tabulate(_rows(candidate), headers=_HEADERS, tablefmt="simple").splitlines()
        lines += [f"warning:   {printable(w)}" for w in candidate.warnings if candidate.verdict == "fail"]
        lines += [_verdict_line(candidate), ""]
    lines += [f"note: {printable(note)}" for note in report.notes]
    return lines


def markdown_table(report: GateReport) -> str:
    """A compact markdown verdict (for $GITHUB_STEP_SUMMARY or a merge-request comment)."""
    parts = [f"## Contexta deployment gate: {_ICON[report.verdict]} {report.verdict}\n"]
    if report.error:
        parts.append(f"The gate could not decide: {printable(report.error)}\n")
    for candidate in report.candidates:
        parts.append(f"### {_ICON[candidate.verdict]} `{printable(candidate.run_ref)}`\n")
        parts.append(_baseline_line(candidate).replace("baseline:  ", "**Baseline:** ") + "\n")
        if candidate.reasons:
            why = "**Why it is inconclusive:** " if candidate.verdict == "inconclusive" else "**Why it failed:** "
            parts.append(why + printable("; ".join(candidate.reasons)) + "\n")
        if candidate.warnings:
            parts.append("**Warnings:** " + printable("; ".join(candidate.warnings)) + "\n")
        if candidate.checks:
            rows = [[cell.replace("|", "\\|") for cell in row] for row in _rows(candidate)]  # a | ends a cell
            parts.append(tabulate(rows, headers=_HEADERS, tablefmt="github") + "\n")
    parts += [f"> note: {printable(note)}\n" for note in report.notes]
    return "\n".join(parts) + "\n"
