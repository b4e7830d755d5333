"""Where a comparison's noise estimate comes from: replicates, ``<key>.stderr`` companions, or the history.

Only :func:`estimate` imports the statistics (and so scipy), and only when a confidence is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from ..runs.metrics import MetricLookup, Selection, find_metric

if TYPE_CHECKING:
    from ..runs.models import ContextaRun
    from .stats import Interval, Spread

NO_ESTIMATE = "no noise estimate"
MIN_HISTORY = 3


class Estimate(NamedTuple):
    """The interval of a change (``None``: point comparison) and the words that say where it came from."""

    interval: Interval | None
    source: str
    candidate_n: int | None = None
    baseline_n: int | None = None
    from_history: bool = False


def companion(lookup: MetricLookup, suffix: str, slice: str | None, selection: Selection) -> float | None:
    """The value of ``<key>.<suffix>`` in the same run, scope, slice and series as ``lookup``'s value."""
    if lookup.record is None:
        return None
    stage = lookup.stage or lookup.record.stage_name
    found = find_metric(lookup.run, f"{lookup.key}.{suffix}", stage, slice=slice, selection=selection)
    return found.value if found.problem is None else None


def _spread(lookup: MetricLookup, slice: str | None, selection: Selection) -> Spread | None:
    from .stats import Spread, replicate_spread

    if len(lookup.values) >= 2:
        return replicate_spread(lookup.values)
    stderr = companion(lookup, "stderr", slice, selection)
    if stderr is None or stderr < 0:
        return None
    count = companion(lookup, "n", slice, selection)
    return Spread(stderr, None, None if count is None else int(count), "standard error")


def history_values(
    history: Sequence[ContextaRun], exclude: str, key: str, stage: str | None, slice: str | None, selection: Selection
) -> list[float]:
    """The metric's usable value in every history run but ``exclude`` (the candidate)."""
    values = []
    for run in history:
        if run.ref == exclude:
            continue
        found = find_metric(run, key, stage, slice=slice, selection=selection)
        if found.value is not None and found.problem is None:
            values.append(found.value)
    return values


def estimate(
    mine: MetricLookup,
    theirs: MetricLookup,
    slice: str | None,
    selection: Selection,
    confidence: float,
    history: Sequence[float] | None,
) -> Estimate:
    """The best available interval for candidate − baseline: both sides' spreads (Welch, normal or a mix),
    else the run-to-run spread of the ``history`` values (at least 3; None: no history runs), else none."""
    from . import stats

    assert mine.value is not None and theirs.value is not None
    change = mine.value - theirs.value
    candidate, baseline = _spread(mine, slice, selection), _spread(theirs, slice, selection)
    if candidate is not None and baseline is not None:
        sides = (candidate, baseline)
        kinds = {side.source for side in sides}
        source = (
            "replicates (Welch)"
            if kinds == {"replicates"}
            else "standard errors (normal)"
            if kinds == {"standard error"}
            else "replicates and a standard error (Welch–Satterthwaite)"
        )
        mine_n, theirs_n = (
            len(lookup.values) if side.source == "replicates" else side.n for lookup, side in zip((mine, theirs), sides)
        )
        return Estimate(stats.change_interval(change, candidate, baseline, confidence), source, mine_n, theirs_n)
    found = list(history or ())
    if len(found) >= MIN_HISTORY:
        return Estimate(
            stats.history_interval(change, found, confidence),
            f"history spread of {len(found)} runs (t, SE = √2·s)",
            1,
            1,
            True,
        )
    missing = (
        f"; the history has {len(found)} usable value{'' if len(found) == 1 else 's'}, {MIN_HISTORY} are needed"
        if history is not None
        else ""
    )
    return Estimate(None, NO_ESTIMATE + missing)
