"""One chart per gated metric, drawn by matplotlib as inline SVG (the ``html`` extra; imported only for the page).

A chart shows the history of deployed values when it is known, the baseline, the candidate and the band of values
the check allows.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .report import ReportCheck
from .trend import history_points

_RELATIVE = re.compile(r"worse by at most (-?[\d.]+)%")
_ABSOLUTE = re.compile(r"worse by at most (-?[\d.eE+]+)(?![\d.]*%)")
_AT_LEAST = re.compile(r">= (-?[\d.eE+]+)")
_AT_MOST = re.compile(r"<= (-?[\d.eE+]+)")
_PASSED, _FAILED, _NEUTRAL, _BAND = "#1a7f37", "#cf222e", "#57606a", "#dafbe1"


@dataclass(frozen=True)
class MetricChart:
    """What one chart shows; ``history`` holds (deployment, value) points, oldest first."""

    title: str
    candidate: float
    baseline: float | None
    band: tuple[float, float]  # allowed values; an open side is +-inf
    passed: bool
    history: Sequence[tuple[str, float]] = field(default_factory=tuple)


def allowed_band(check: ReportCheck) -> tuple[float, float] | None:
    """The values ``check`` allows, read from its limit; None when it states none this version understands."""
    limit = check.limit or ""
    low, high = -math.inf, math.inf
    if check.kind == "threshold":
        if (least := _AT_LEAST.search(limit)) is not None:
            low = float(least.group(1))
        if (most := _AT_MOST.search(limit)) is not None:
            high = float(most.group(1))
        return None if (low, high) == (-math.inf, math.inf) else (low, high)
    if check.kind != "regression" or check.baseline_value is None or not check.direction:
        return None
    baseline = check.baseline_value
    slack = [abs(baseline) * float(m.group(1)) / 100 for m in _RELATIVE.finditer(limit)]
    slack += [float(m.group(1)) for m in _ABSOLUTE.finditer(limit)]
    if not slack:
        return None
    allowed = min(slack)  # every stated limit must hold
    return (baseline - allowed, high) if check.direction.startswith("higher") else (low, baseline + allowed)


def charts_of(checks: Sequence[ReportCheck]) -> list[MetricChart]:
    """One chart per regression or threshold check that has a candidate value."""
    charts = []
    for check in checks:
        band = allowed_band(check)
        if band is None or check.candidate_value is None:
            continue
        where = "".join(part for part in (f" @{check.stage}" if check.stage else "",
                                          f" [{check.slice}]" if check.slice else "",
                                          f" sample {check.sample}" if check.sample else "",
                                          f" batch {check.batch}" if check.batch else ""))
        charts.append(MetricChart(f"{check.metric}{where}", check.candidate_value, check.baseline_value, band,
                                  check.outcome == "passed", history_points(check)))
    return charts


def svg(chart: MetricChart) -> str:
    """The chart as an ``<svg>`` element (no XML prologue), its text as SVG text."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "pytest-contexta", "font.size": 9}):
        figure = Figure(figsize=(5.2, 2.6))
        axes = figure.subplots()
        points = [*((name, value, _NEUTRAL, "o") for name, value in chart.history),
                  *([("baseline", chart.baseline, _NEUTRAL, "s")] if chart.baseline is not None else []),
                  ("candidate", chart.candidate, _PASSED if chart.passed else _FAILED, "D")]
        if chart.history:
            axes.plot(range(len(chart.history)), [value for _, value in chart.history], color=_NEUTRAL,
                      label="deployed")
        for position, (name, value, colour, marker) in enumerate(points):
            label = f"{name} {value:.6g}" if name in ("baseline", "candidate") else None
            axes.plot([position], [value], marker=marker, markersize=7, linestyle="", color=colour, label=label)
        axes.set_xticks(range(len(points)), [name for name, *_ in points], parse_math=False)
        known = [value for _, value, *_ in points]
        finite = [edge for edge in chart.band if math.isfinite(edge)]
        span = (max(known + finite) - min(known + finite)) or abs(known[0]) or 1.0
        bottom, top = min(known + finite) - span * 0.3, max(known + finite) + span * 0.3
        axes.axhspan(max(chart.band[0], bottom), min(chart.band[1], top), color=_BAND, zorder=0, label="allowed")
        for edge in finite:
            axes.axhline(edge, color=_PASSED, linewidth=0.8, linestyle="--")
        axes.set_ylim(bottom, top)
        axes.set_title(chart.title, parse_math=False)
        axes.legend(loc="best", fontsize=7, frameon=False)
        figure.tight_layout()
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]
