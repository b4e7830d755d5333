"""Render the verdict for people: the terminal table and the markdown summary (pure functions)."""

from __future__ import annotations

from tabulate import tabulate

from ..runs.models import Diagnostic
from ..text import first_line, printable
from ..verdict.report import VERDICT_PRECEDENCE, CandidateReport, GateReport, ReportCheck
from .layout import Column, table, wrap
from .trend import trend_line, trend_points_oldest_first

_RESULT = {
    "passed": "PASS",
    "failed": "FAIL",
    "error": "ERROR",
    "skipped": "SKIP",
    "warning": "WARN",
    "waived": "WAIVED",
    "inconclusive": "INCONCLUSIVE",
}
#: Markdown icons of the outcome and verdict words the report may carry; an unknown word gets none.
ICONS = {
    "passed": "✅",
    "pass": "✅",
    "failed": "❌",
    "fail": "❌",
    "error": "💥",
    "skipped": "⏭️",
    "warning": "⚠️",
    "pass-with-warnings": "⚠️",
    "waived": "🔕",
    "inconclusive": "❔",
}
_HEADERS = ["check", "result", "metric", "candidate", "baseline", "change", "limit", "direction / detail"]
_DETAIL_WIDTH = 100
_COLUMNS = [Column(header) for header in _HEADERS]
_CHECK, _RESULT_COLUMN, _METRIC, _CANDIDATE, _BASELINE, _CHANGE, _LIMIT, _DETAIL = range(len(_HEADERS))
#: The terminal table's layouts, widest first: the columns that move to an indented line under their row.
_LAYOUTS = [(), (_DETAIL,), (_LIMIT, _DETAIL), (_METRIC, _LIMIT, _DETAIL)]
#: The narrowest layout also wraps the check and change columns.
_SHRINKING = {_CHECK: Column("check", 16), _CHANGE: Column("change", 8)}
_LABELLED = {_CANDIDATE, _BASELINE, _CHANGE}  # numbers moved to the indented line say what they are
_DETAIL_INDENT = " " * 4
#: Narrower than this, pytest itself assumes 80 columns.
MIN_WIDTH = 40


def result_word(outcome: str) -> str:
    """How a check's outcome reads in a table: PASS, FAIL, …; an outcome this version does not know, in capitals."""
    return _RESULT.get(outcome, outcome.upper())


def short_name(nodeid: str, candidate: str) -> str:
    """The check's name without its file and candidate: ``test_no_regression[accuracy]``."""
    name = nodeid.split("::", 1)[-1]
    for text, replacement in ((f"[{candidate}]", ""), (f"{candidate}-", ""), (f"-{candidate}", "")):
        name = name.replace(text, replacement)
    return name


def number_text(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def change_text(check: ReportCheck) -> str:
    if check.change_abs is None:
        return ""
    relative = "" if check.change_rel is None else f" ({check.change_rel:+.2%})"
    return f"{check.change_abs:+.4g}{relative}"


def _clip(text: str) -> str:
    return text if len(text) <= _DETAIL_WIDTH else text[: _DETAIL_WIDTH - 1] + "…"


def _metric(check: ReportCheck) -> str:
    metric = check.metric or ""
    if check.metric and check.stage:
        metric += f" @{check.stage}"
    if check.metric and check.slice:
        metric += f" [{check.slice}]"
    return printable(metric)


def detail_text(check: ReportCheck, clip: bool = False) -> str:
    """What a check says beyond its numbers: the direction of a regression check, else its detail; then its
    trend. ``clip`` shortens the words, never the trend."""
    numeric = check.kind == "regression" and check.change_abs is not None
    text = printable((check.direction if numeric else check.detail) or "")
    text = _clip(text) if clip else text
    trend = (
        trend_line(trend_points_oldest_first(check), check.candidate_value) if check.candidate_value is not None else ""
    )
    return f"{text} · trend {trend}" if trend else text


def _rows(candidate: CandidateReport) -> list[list[str]]:
    return [
        [
            printable(short_name(check.nodeid, candidate.run_ref)),
            result_word(check.outcome),
            _metric(check),
            number_text(check.candidate_value),
            number_text(check.baseline_value),
            change_text(check),
            printable(check.limit or ""),
            detail_text(check, clip=True),
        ]
        for check in candidate.checks
    ]


def _baseline_line(candidate: CandidateReport) -> str:
    if candidate.baseline is None:
        return "baseline:  (not decided)"
    return f"baseline:  {printable(candidate.baseline.run_ref or 'none')} — {printable(candidate.baseline.reason)}"


def verdict_words(verdict: str) -> str:
    """``pass`` -> ``GATE PASSED``, ``fail`` -> ``GATE FAILED``, …; a verdict word this version does not know in
    capitals (``inconclusive`` -> ``GATE INCONCLUSIVE``)."""
    known = {"pass": "GATE PASSED", "fail": "GATE FAILED", "pass-with-warnings": "GATE PASSED WITH WARNINGS"}
    return known.get(verdict, f"GATE {verdict.upper().replace('-', ' ')}")


def _verdict_line(candidate: CandidateReport) -> str:
    words = f"{verdict_words(candidate.verdict)} for {printable(candidate.run_ref)}"
    why = candidate.warnings if candidate.verdict == "pass-with-warnings" else candidate.reasons
    return f"{words}: {printable('; '.join(why))}" if why else words


def diagnostic_line(diagnostic: Diagnostic) -> str:
    """``warning CODE (subject): first line of the summary``, escaped."""
    subject = f" ({printable(diagnostic.subject_ref)})" if diagnostic.subject_ref else ""
    return f"{diagnostic.severity} {printable(diagnostic.code)}{subject}: {printable(first_line(diagnostic.summary))}"


def _check_table(candidate: CandidateReport, width: int) -> list[str]:
    """The checks as a table that fits ``width``.

    When the full table is too wide, the detail, then the limit, then the metric move to an indented line under
    their row; then the check and change columns wrap; narrower still, each check becomes a block of lines.
    """
    rows = _rows(candidate)
    moved, blocks = _fitting_table(rows, width)
    lines = blocks[0]
    for row, row_lines, check in zip(rows, blocks[1:], candidate.checks):
        lines += row_lines + _moved_line(row, check, moved, width)
    return lines


def _fitting_table(rows: list[list[str]], width: int) -> tuple[set[int], list[list[str]]]:
    """The columns moved under their row and the table's blocks (header, then each row's lines) in the widest
    layout that fits; when none does, every column from the metric on moves and the header is empty."""
    layouts = [(set(moved), [c for i, c in enumerate(_COLUMNS) if i not in moved]) for moved in _LAYOUTS]
    narrowest = layouts[-1][0]
    layouts.append((narrowest, [_SHRINKING.get(i, c) for i, c in enumerate(_COLUMNS) if i not in narrowest]))
    for moved, columns in layouts:
        blocks = table(columns, [[cell for i, cell in enumerate(row) if i not in moved] for row in rows], width)
        if blocks is not None:
            return moved, blocks
    blocks = [[]] + [wrap(f"{row[_CHECK]} {row[_RESULT_COLUMN]}", width, "    ") for row in rows]
    return set(range(_METRIC, len(_HEADERS))), blocks


def _moved_line(row: list[str], check: ReportCheck, moved: set[int], width: int) -> list[str]:
    """The row's moved cells (the detail in full) on an indented line, numbers labelled; none when all are empty."""
    full = [*row[:_DETAIL], detail_text(check)]
    cells = [f"{_HEADERS[i]} {full[i]}" if i in _LABELLED else full[i] for i in sorted(moved) if full[i]]
    return wrap(" · ".join(cells), width, _DETAIL_INDENT, _DETAIL_INDENT) if cells else []


def fitted_lines(lines: list[str], width: int, indent: str = "    ") -> list[str]:
    """Other lines the plugin prints (its header, a baseline, an output error), each wrapped to ``width``."""
    return [part for line in lines for part in wrap(line, max(width, MIN_WIDTH), indent)]


def terminal_lines(report: GateReport, width: int = 80) -> list[str]:
    """The verdict block printed at the end of the session, one block per candidate, no line wider than ``width``."""
    width = max(width, MIN_WIDTH)
    lines: list[str] = []
    for candidate in report.candidates:
        errors = [d for d in candidate.diagnostics if d.severity == "error"]
        others = [d for d in candidate.diagnostics if d.severity != "error"]
        lines += wrap(f"candidate: {printable(candidate.run_ref)}", width, " " * 11)
        lines += wrap(_baseline_line(candidate), width, " " * 11)
        if errors:
            lines += wrap(
                "errors:    " + printable("; ".join(f"{d.code} ({d.summary})" for d in errors)), width, " " * 11
            )
        if candidate.checks:
            lines += _check_table(candidate, width)
        if others:
            lines.append("diagnostics:")
            for diagnostic in others:
                lines += wrap(diagnostic_line(diagnostic), width, "    ", "  ")
        if candidate.verdict == "fail":
            for warning in candidate.warnings:
                lines += wrap(f"warning:   {printable(warning)}", width, " " * 11)
        lines += wrap(_verdict_line(candidate), width, "    ")
        lines.append("")
    session = session_line(report)
    if session:
        lines += [*wrap(session, width, "    "), ""]
    for note in report.notes:
        lines += wrap(f"note: {printable(note)}", width, "      ")
    return lines


def session_line(report: GateReport) -> str | None:
    """The session's verdict with its exit status, when the candidate lines alone do not say it: several
    candidates, or a session that failed for a reason outside them."""
    candidates = report.candidates
    if len(candidates) == 1 and candidates[0].verdict == report.verdict:
        return None
    words = f"{verdict_words(report.verdict)} overall (exit status {report.exit_status})"
    worst = next((v for v in VERDICT_PRECEDENCE if v in {c.verdict for c in candidates}), None)
    if worst == report.verdict:
        return f"{words}: the worst of the {len(candidates)} candidate verdicts"
    return (
        f"{words}: the session failed outside the candidates' checks (pytest exit status "
        f"{report.exit_status}: a test that is not a gate check failed, the session was interrupted, or the "
        f"gate could not finish)"
    )


#: The first line of every markdown verdict: CI finds the pull-request comment to update by it (docs/ci-recipes.md).
MARKDOWN_MARKER = "<!-- pytest-contexta:gate-verdict -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")  # a | ends a cell


def markdown_table(report: GateReport) -> str:
    """A compact markdown verdict (for $GITHUB_STEP_SUMMARY or a pull-request comment), opened by the marker."""
    parts = [MARKDOWN_MARKER, f"## Contexta deployment gate: {ICONS.get(report.verdict, '')} {report.verdict}\n"]
    if report.error:
        parts.append(f"The gate could not decide: {printable(report.error)}\n")
    for candidate in report.candidates:
        parts.append(f"### {ICONS.get(candidate.verdict, '')} `{printable(candidate.run_ref)}`\n")
        parts.append(_baseline_line(candidate).replace("baseline:  ", "**Baseline:** ") + "\n")
        if candidate.reasons:
            why = "**Why it is inconclusive:** " if candidate.verdict == "inconclusive" else "**Why it failed:** "
            parts.append(why + printable("; ".join(candidate.reasons)) + "\n")
        if candidate.warnings:
            parts.append("**Warnings:** " + printable("; ".join(candidate.warnings)) + "\n")
        if candidate.checks:
            # an empty cell is a missing value (None): tabulate then aligns a numeric column the same in every release
            rows = [[_cell(cell) or None for cell in row] for row in _rows(candidate)]
            parts.append(tabulate(rows, headers=_HEADERS, tablefmt="github") + "\n")
        others = [d for d in candidate.diagnostics if d.severity != "error"]
        if others:
            parts.append("\n".join(f"- {_cell(diagnostic_line(d))}" for d in others) + "\n")
    parts += [f"> note: {printable(note)}\n" for note in report.notes]
    return "\n".join(parts) + "\n"
