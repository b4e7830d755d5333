"""One chart per gated metric, drawn by matplotlib as inline SVG (the ``html`` extra; imported only for the page).

A chart shows the history of deployed values (each point labelled by its deployment) when it is known, the
baseline, the candidate with its interval when one was computed, and the band of values the check allows, all
taken from the check's fields.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..verdict.report import ReportCheck
from .trend import point_label, trend_points_oldest_first

if TYPE_CHECKING:
    from matplotlib.axes import Axes

_PASSED, _FAILED, _NEUTRAL, _BAND = "#1a7f37", "#cf222e", "#57606a", "#dafbe1"


@dataclass(frozen=True)
class MetricChart:
    """What one chart shows; ``history`` holds (label, value) points, oldest first, each label the deployment and
    its date; ``interval`` is the candidate's value interval at ``confidence`` (None: no interval computed)."""

    title: str
    candidate: float
    baseline: float | None
    band: tuple[float, float]  # allowed values; an open side is +-inf
    passed: bool
    history: Sequence[tuple[str, float]] = field(default_factory=tuple)
    interval: tuple[float, float] | None = None
    confidence: float | None = None


def allowed_band(check: ReportCheck) -> tuple[float, float] | None:
    """The values ``check`` allows (its ``allowed_low``/``allowed_high``); None when it states neither."""
    if check.allowed_low is None and check.allowed_high is None:
        return None
    return (
        -math.inf if check.allowed_low is None else check.allowed_low,
        math.inf if check.allowed_high is None else check.allowed_high,
    )


def band_text(band: tuple[float, float]) -> str:
    """``at least 0.875``, ``at most 42.84`` or ``between 1 and 2``."""
    low, high = band
    if math.isfinite(low) and math.isfinite(high):
        return f"between {low:.6g} and {high:.6g}"
    return f"at least {low:.6g}" if math.isfinite(low) else f"at most {high:.6g}"


def candidate_interval(check: ReportCheck) -> tuple[float, float] | None:
    """The interval of the change placed at the baseline: where the candidate's value lies at the confidence."""
    if check.change_low is None or check.change_high is None or check.baseline_value is None:
        return None
    return check.baseline_value + check.change_low, check.baseline_value + check.change_high


def charts_of(checks: Sequence[ReportCheck]) -> list[MetricChart]:
    """One chart per regression or threshold check that has a candidate value and an allowed band."""
    charts = []
    for check in checks:
        band = allowed_band(check)
        if check.kind not in ("regression", "threshold") or band is None or check.candidate_value is None:
            continue
        where = "".join(
            part
            for part in (
                f" @{check.stage}" if check.stage else "",
                f" [{check.slice}]" if check.slice else "",
                f" sample {check.sample}" if check.sample else "",
                f" batch {check.batch}" if check.batch else "",
            )
        )
        history = [
            (f"{point_label(p)}\n{(p.deployed_at or '')[:10]}".strip(), p.value)
            for p in trend_points_oldest_first(check)
        ]
        charts.append(
            MetricChart(
                f"{check.metric}{where}",
                check.candidate_value,
                check.baseline_value,
                band,
                check.outcome == "passed",
                history,
                candidate_interval(check),
                check.confidence,
            )
        )
    return charts


def svg(chart: MetricChart) -> str:
    """The chart as an ``<svg>`` element (no XML prologue), its text as SVG text."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "pytest-contexta", "font.size": 9}):
        figure = Figure(figsize=(5.2, 2.9))
        axes = figure.subplots()
        colour = _PASSED if chart.passed else _FAILED
        points = _points(chart, colour)
        _plot_points(axes, chart, points)
        known = [value for _, value, *_ in points] + _plot_interval(axes, chart, len(points) - 1, colour)
        axes.set_xticks(range(len(points)), [name for name, *_ in points], parse_math=False)
        axes.tick_params(axis="x", labelsize=7)
        bottom, top = value_range(known, chart.band)
        _plot_band(axes, chart.band, bottom, top)
        axes.set_ylim(bottom, top)
        axes.set_title(chart.title, parse_math=False)
        axes.legend(loc="best", fontsize=7, frameon=False)
        figure.tight_layout()
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _points(chart: MetricChart, colour: str) -> list[tuple[str, float, str, str]]:
    """The points left to right, each (name, value, colour, marker): the history, the baseline, the candidate."""
    return [
        *((name, value, _NEUTRAL, "o") for name, value in chart.history),
        *([("baseline", chart.baseline, _NEUTRAL, "s")] if chart.baseline is not None else []),
        ("candidate", chart.candidate, colour, "D"),
    ]


def _plot_points(axes: Axes, chart: MetricChart, points: list[tuple[str, float, str, str]]) -> None:
    """The history as a line, then every point's marker; the baseline and candidate are named in the legend."""
    if chart.history:
        axes.plot(range(len(chart.history)), [value for _, value in chart.history], color=_NEUTRAL, label="deployed")
    for position, (name, value, marker_colour, marker) in enumerate(points):
        label = f"{name} {value:.6g}" if name in ("baseline", "candidate") else None
        axes.plot([position], [value], marker=marker, markersize=7, linestyle="", color=marker_colour, label=label)


def _plot_interval(axes: Axes, chart: MetricChart, position: int, colour: str) -> list[float]:
    """The candidate's interval as an error bar at ``position``; its ends, or none without an interval."""
    if chart.interval is None:
        return []
    low, high = chart.interval
    axes.errorbar(
        [position],
        [chart.candidate],
        color=colour,
        capsize=5,
        linestyle="",
        yerr=[[chart.candidate - low], [high - chart.candidate]],
        label=f"{chart.confidence:.0%} interval" if chart.confidence else "interval",
    )
    return [low, high]


def value_range(known: list[float], band: tuple[float, float]) -> tuple[float, float]:
    """The bottom and top of the value axis: the values and the band's finite edges, with 30 % of their span
    (or of the first value, or 1) to spare on each side."""
    shown = known + [edge for edge in band if math.isfinite(edge)]
    span = (max(shown) - min(shown)) or abs(known[0]) or 1.0
    return min(shown) - span * 0.3, max(shown) + span * 0.3


def _plot_band(axes: Axes, band: tuple[float, float], bottom: float, top: float) -> None:
    """The allowed values as a shaded band clipped to the axis, each finite edge a dashed line."""
    axes.axhspan(max(band[0], bottom), min(band[1], top), color=_BAND, zorder=0, label="allowed")
    for edge in band:
        if math.isfinite(edge):
            axes.axhline(edge, color=_PASSED, linewidth=0.8, linestyle="--")
