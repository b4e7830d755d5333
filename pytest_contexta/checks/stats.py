"""The statistics of noise-aware verdicts: the interval of a change, the smallest change the data could
detect, a robust spread, and multiple-testing corrections. docs/statistics.md names every formula.

Student's t distribution comes from ``scipy.special`` (its lightest module), imported only when a t interval
is computed (replicates or the history spread), so point-comparison gates and a dormant plugin never load it;
the normal distribution (standard errors taken as known) from the standard library's ``statistics.NormalDist``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist, median, stdev
from typing import Any, NamedTuple, cast

from ..errors import CheckArgumentError

#: The power at which the minimum detectable effect (MDE) is stated.
POWER = 0.80
#: 1 / Φ⁻¹(3/4): scales the median absolute deviation to the standard deviation of normal data.
MAD_SCALE = 1.482602218505602


_NORMAL = NormalDist()


def _special() -> Any:
    """scipy.special (for Student's t), or a clear error: a gate asked for an interval must not pass without one."""
    try:
        from scipy import special  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - exercised only where scipy is missing
        raise CheckArgumentError(
            "confidence= needs scipy to compute the interval, and it cannot be imported "
            f"({exc}); install it (pip install scipy) or pass confidence=None for a point comparison"
        ) from exc
    return special


def _normal(df: float | None) -> bool:
    return df is None or math.isinf(df)


class Spread(NamedTuple):
    """One side's noise estimate: its value's standard error and the degrees of freedom behind it
    (``None``: a standard error taken as known, e.g. from a ``<key>.stderr`` record)."""

    stderr: float
    df: float | None
    n: int | None
    source: str


def replicate_spread(values: Sequence[float]) -> Spread:
    """A sample of replicates: standard error s/√n with n − 1 degrees of freedom."""
    return Spread(stdev(values) / math.sqrt(len(values)), len(values) - 1, len(values), "replicates")


class Interval(NamedTuple):
    """The interval of a change (candidate − baseline) at ``confidence``, and what it rests on."""

    change: float
    low: float
    high: float
    stderr: float
    df: float | None
    quantile: float
    mde: float
    confidence: float

    def p_beyond(self, worsening: float, limit: float) -> float:
        """One-sided p-value of ``worsening > limit`` (small: the change is surely beyond the limit)."""
        if self.stderr == 0:
            return 0.0 if worsening > limit else 1.0
        score = (worsening - limit) / self.stderr
        if _normal(self.df):
            return _NORMAL.cdf(-score)
        return cast(float, _special().stdtr(self.df, -score))


def quantile(probability: float, df: float | None) -> float:
    """The ``probability`` quantile of Student's t with ``df`` degrees of freedom (``None``: the normal)."""
    if _normal(df):
        return _NORMAL.inv_cdf(probability)
    return float(_special().stdtrit(df, probability))


def satterthwaite(sides: Sequence[Spread]) -> float | None:
    """Welch–Satterthwaite degrees of freedom of a sum of independent variances; ``None`` when every
    side's standard error is taken as known (the normal interval)."""
    total = sum(side.stderr**2 for side in sides)
    terms = [side.stderr**4 / side.df for side in sides if side.df is not None and side.df > 0]
    if not terms or total == 0:
        return None
    return total**2 / sum(terms)


def interval(change: float, stderr: float, df: float | None, confidence: float) -> Interval:
    """change ± q·SE with q the (1 + confidence)/2 quantile; the MDE is (q + q_power)·SE."""
    q = quantile((1 + confidence) / 2, df)
    mde = (q + quantile(POWER, df)) * stderr
    return Interval(change, change - q * stderr, change + q * stderr, stderr, df, q, mde, confidence)


def change_interval(change: float, candidate: Spread, baseline: Spread, confidence: float) -> Interval:
    """Welch's interval (replicates on both sides), the normal one (standard errors), or a mix of the two."""
    stderr = math.sqrt(candidate.stderr**2 + baseline.stderr**2)
    return interval(change, stderr, satterthwaite([candidate, baseline]), confidence)


def history_interval(change: float, history: Sequence[float], confidence: float) -> Interval:
    """Run-to-run noise from the history: SE = √2·s_h (the difference of two single runs whose values
    vary as the history's do), with n_h − 1 degrees of freedom."""
    return interval(change, math.sqrt(2) * stdev(history), len(history) - 1, confidence)


def robust_center(values: Sequence[float]) -> tuple[float, float]:
    """The median and the robust standard deviation 1.4826·MAD (median absolute deviation)."""
    center = median(values)
    return center, MAD_SCALE * median(abs(value - center) for value in values)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error), in the input order."""
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    adjusted = [0.0] * len(pvalues)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(pvalues) - rank) * pvalues[index]))
        adjusted[index] = running
    return adjusted


def benjamini_hochberg(pvalues: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg step-up adjusted p-values (false discovery rate), in the input order."""
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i], reverse=True)
    adjusted = [0.0] * len(pvalues)
    running = 1.0
    for position, index in enumerate(order):
        rank = len(pvalues) - position
        running = min(running, len(pvalues) / rank * pvalues[index])
        adjusted[index] = running
    return adjusted


CORRECTIONS = {"holm": holm, "bh": benjamini_hochberg}
