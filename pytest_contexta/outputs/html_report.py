"""The verdict as one self-contained HTML page: no script, no network; every workspace string escaped."""

from __future__ import annotations

from html import escape

from ..text import printable
from ..verdict.report import CandidateReport, GateReport, ReportCheck
from .charts import MetricChart, band_text, charts_of, svg
from .summary import change_text, detail_text, diagnostic_line, number_text, result_word, short_name, verdict_words

#: Nothing on the page may load or run anything: even a string that escaped escaping could not run a script.
_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #1f2328; padding: 0 1rem; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin-top: 2.5rem; } h3 { font-size: 1rem; }
.banner { padding: .8rem 1rem; border-radius: 6px; font-weight: 600; font-size: 1.1rem; color: #fff; }
.banner.pass { background: #1a7f37; } .banner.fail { background: #cf222e; } .banner.other { background: #9a6700; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #d0d7de; vertical-align: top; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
tr.failed td.result, tr.error td.result { color: #cf222e; font-weight: 600; }
tr.passed td.result { color: #1a7f37; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; }
figure { margin: 0; border: 1px solid #d0d7de; border-radius: 6px; padding: .5rem; width: 26rem; }
figcaption { font-size: 12px; color: #57606a; }
figure svg { width: 26rem; height: auto; }
code { font-size: 12px; }
"""


def _e(text: str | None) -> str:
    """A string from the workspace or the gate, safe as HTML text or attribute value."""
    return escape(printable(text or ""), quote=True)


def _check_row(check: ReportCheck, candidate: str) -> str:
    where = "".join(f" @{check.stage}" if check.stage else "") + (f" [{check.slice}]" if check.slice else "")
    name = short_name(check.nodeid, candidate)
    cells = [
        f'<td class="check" title="{_e(check.nodeid)}"><code>{_e(name)}</code></td>',
        f'<td class="result">{_e(result_word(check.outcome))}</td>',
        f"<td>{_e((check.metric or '') + where if check.metric else '')}</td>",
        f'<td class="number">{number_text(check.candidate_value)}</td>',
        f'<td class="number">{number_text(check.baseline_value)}</td>',
        f'<td class="number">{_e(change_text(check))}</td>',
        f"<td>{_e(check.limit)}</td>",
        f'<td class="detail">{_e(detail_text(check))}</td>',
    ]
    return f'<tr class="check {_e(check.outcome)}" data-outcome="{_e(check.outcome)}">{"".join(cells)}</tr>'


def _caption(chart: MetricChart) -> str:
    """What the chart's shapes mean, in words: the band, the interval, where the points come from."""
    parts = [f"the shaded band is what the check allows ({band_text(chart.band)})"]
    if chart.interval is not None:
        parts.append(
            f"the bar on the candidate is its {chart.confidence:.0%} interval "
            f"[{chart.interval[0]:.6g}, {chart.interval[1]:.6g}]"
            if chart.confidence
            else "the bar on the candidate is its interval"
        )
    if chart.history:
        parts.append(f"the line joins the last {len(chart.history)} deployed values, each under its deployment")
    return _e("; ".join(parts))


def _candidate(index: int, candidate: CandidateReport) -> str:
    tone = candidate.verdict if candidate.verdict in ("pass", "fail") else "other"
    reasons = "; ".join(candidate.warnings if candidate.verdict == "pass-with-warnings" else candidate.reasons)
    parts = [
        f'<section class="candidate" id="candidate-{index}" data-verdict="{_e(candidate.verdict)}">',
        f"<h2>Candidate <code>{_e(candidate.run_ref)}</code></h2>",
        f'<div class="banner {tone}" role="status">{_e(verdict_words(candidate.verdict))} for '
        f"{_e(candidate.run_ref)}{': ' + _e(reasons) if reasons else ''}</div>",
    ]
    baseline = candidate.baseline
    parts.append("<h3>Baseline</h3>")
    parts.append(
        "<p>not decided</p>"
        if baseline is None
        else f"<p><code>{_e(baseline.run_ref or 'none')}</code> — {_e(baseline.reason)}</p>"
    )
    if candidate.checks:
        header = "".join(
            f"<th>{name}</th>"
            for name in ("check", "result", "metric", "candidate", "baseline", "change", "limit", "direction / detail")
        )
        rows = "".join(_check_row(check, candidate.run_ref) for check in candidate.checks)
        parts.append(
            f'<h3>Checks</h3><table class="checks"><thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table>'
        )
    if candidate.diagnostics:
        items = "".join(
            f'<li class="diagnostic {_e(d.severity)}">{_e(diagnostic_line(d))}</li>' for d in candidate.diagnostics
        )
        parts.append(f"<h3>Diagnostics</h3><ul>{items}</ul>")
    charts = charts_of(candidate.checks)
    if charts:
        figures = "".join(
            f'<figure class="chart" data-metric="{_e(chart.title)}">{svg(chart)}'
            f"<figcaption>{_e(chart.title)}: {_caption(chart)}</figcaption></figure>"
            for chart in charts
        )
        parts.append(f'<h3>Gated metrics</h3><div class="charts">{figures}</div>')
    parts.append("</section>")
    return "\n".join(parts)


def html_page(report: GateReport) -> str:
    """The whole page: a banner per candidate, its checks, diagnostics, baseline and one chart per gated metric."""
    title = f"Contexta deployment gate: {report.verdict}"
    body = [
        f"<h1>{_e(title)}</h1>",
        f"<p>Workspace <code>{_e(report.workspace)}</code>, decided {_e(report.created_at)}, "
        f"exit status {report.exit_status}.</p>",
    ]
    if report.error:
        body.append(f'<div class="banner fail" role="status">The gate could not decide: {_e(report.error)}</div>')
    body += [_candidate(index, candidate) for index, candidate in enumerate(report.candidates, 1)]
    if report.notes:
        body.append("<h2>Notes</h2><ul>" + "".join(f"<li>{_e(note)}</li>" for note in report.notes) + "</ul>")
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_POLICY}">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
