"""A metric's trend in one line of text: a unicode sparkline of its deployed values, then the candidate."""

from __future__ import annotations

import math
from collections.abc import Sequence

from .report import ReportCheck

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float]) -> str:
    """One bar per value, scaled between the lowest and the highest (all equal: middle bars)."""
    if not values:
        return ""
    low, high = min(values), max(values)
    if math.isclose(low, high):
        return _BARS[len(_BARS) // 2] * len(values)
    return "".join(_BARS[round((value - low) / (high - low) * (len(_BARS) - 1))] for value in values)


def trend_line(history: Sequence[tuple[str, float]], candidate: float) -> str:
    """``0.872 ▁▃▅▇ → ▂ 0.841 (candidate)``: the first deployed value, the deployed values oldest first, and
    the candidate scaled with them; "" without history."""
    if not history:
        return ""
    bars = sparkline([value for _, value in history] + [candidate])
    return f"{history[0][1]:.4g} {bars[:-1]} → {bars[-1]} {candidate:.4g} (candidate)"


def history_points(check: ReportCheck) -> list[tuple[str, float]]:
    """The check's history values as (deployment, value) points, oldest first (the report lists newest first)."""
    values = check.history_values or []
    return [(f"{back} back", value) for back, value in reversed(list(enumerate(values, 1)))]
