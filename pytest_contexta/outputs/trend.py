"""A metric's trend in one line of text: a unicode sparkline of its deployed values, then the candidate."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..checks.results import HistoryPoint
from ..text import printable
from ..verdict.report import ReportCheck

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float]) -> str:
    """One bar per value, scaled between the lowest and the highest (all equal: middle bars)."""
    if not values:
        return ""
    low, high = min(values), max(values)
    if math.isclose(low, high):
        return _BARS[len(_BARS) // 2] * len(values)
    span = high / 2 - low / 2  # halves: the difference of two finite floats near the float maximum overflows
    return "".join(_BARS[round((value / 2 - low / 2) / span * (len(_BARS) - 1))] for value in values)


def point_label(point: HistoryPoint) -> str:
    """What a trend point is called: its deployment, else (a history run never deployed) its run's name."""
    return printable(point.deployment or point.run_ref.rsplit(".", 1)[-1])


def trend_line(history: Sequence[HistoryPoint], candidate: float) -> str:
    """``0.872 (prod-v1) ▁▃▅▇ 0.88 (prod-v4) → ▂ 0.841 (candidate)``: the oldest and the newest deployed value
    with their deployments, the deployed values oldest first between them, and the candidate scaled with them;
    "" without history."""
    if not history:
        return ""
    bars = sparkline([point.value for point in history] + [candidate])
    first, last = history[0], history[-1]
    newest = f" {last.value:.4g} ({point_label(last)})" if len(history) > 1 else ""
    return f"{first.value:.4g} ({point_label(first)}) {bars[:-1]}{newest} → {bars[-1]} {candidate:.4g} (candidate)"


def trend_points_oldest_first(check: ReportCheck) -> list[HistoryPoint]:
    """The check's trend points oldest first (the report lists them newest first)."""
    return list(reversed(check.history or []))
