"""``assert_metric_threshold``: a metric's value, or every matching slice's, sample's or batch's, within bounds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from ..errors import CheckArgumentError
from ..runs.metrics import Selection
from ..runs.models import ContextaRun
from .arguments import bounds_text, check_min_n, check_share, check_stage, metric_keys, require_run
from .asserts import fail_unless, scope_text, tag_selection
from .regression import label
from .results import CheckResult
from .sweeps import all_skipped_row, check_slice_argument, is_pattern, no_slice_row, size_row, slices_of
from .units import Unit, find_units, threshold_row, unit_rows


def assert_metric_threshold(
    run: ContextaRun,
    metric: str,
    *,
    at_least: float | None = None,
    at_most: float | None = None,
    stage: str | None = None,
    slice: str | None = None,
    samples: str | None = None,
    batches: str | None = None,
    aggregate: Literal["each", "mean"] = "each",
    max_failing_share: float | None = None,
    accept_incomplete: bool = False,
    tags: Mapping[str, str] | None = None,
    min_n: int | None = None,
    advisory: bool = False,
) -> None:
    """Fail unless the metric's value lies within the absolute floor ``at_least`` and ceiling ``at_most``.

    The complete overall value is checked, or with ``slice`` that slice's. ``samples="*"`` (or a name
    pattern such as ``"prompt-*"``) checks every matching sample's value, one failing row per sample;
    ``batches=`` does the same per batch. With them, ``aggregate="mean"`` checks the mean of the values
    instead, and ``max_failing_share=0.05`` passes when at most 5 % of them break the bounds.
    A slice pattern (``slice="segment.*"``) checks every matching slice, one row each, skipping those
    with fewer than ``min_n`` examples (``<key>.n``); ``tags={...}`` chooses one series.
    """
    __tracebackhide__ = True
    run = require_run(run, "run")
    (key,) = metric_keys([metric])
    check_stage(stage)
    check_slice_argument(slice)
    selection = tag_selection(tags)
    min_n = check_min_n(min_n)
    limit = bounds_text(at_least, at_most)
    check_share("max_failing_share", max_failing_share)
    _check_aggregate(aggregate, samples, batches, slice, min_n)
    units = find_units(run, key, stage, slice, samples, batches, accept_incomplete, selection)
    _check_aggregate_of(units, aggregate, max_failing_share)
    common: dict[str, Any] = {
        "kind": "threshold",
        "run_ref": run.ref,
        "metric": key,
        "stage": stage,
        "slice": slice,
        "limit": limit,
        "allowed_low": at_least,
        "allowed_high": at_most,
    }
    head = f"{run.ref}{scope_text(stage, slice)}:"
    if units is None:
        rows = _slice_rows(run, key, stage, slice, accept_incomplete, selection, min_n, at_least, at_most, common)
        fail_unless(rows, f"{head} {rows[0].detail}" if len(rows) == 1 else _failing_lines(head, rows), advisory)
        return
    rows = unit_rows(label(key, slice), *units, at_least, at_most, aggregate, max_failing_share, common)
    fail_unless(rows, _failing_lines(head, rows), advisory)


def _check_aggregate(
    aggregate: str, samples: str | None, batches: str | None, slice: str | None, min_n: int | None
) -> None:
    """``aggregate`` is known, and samples or batches are not asked for with what checks whole slices."""
    __tracebackhide__ = True
    if aggregate not in ("each", "mean"):
        raise CheckArgumentError(f"aggregate must be 'each' or 'mean', not {aggregate!r}")
    if (samples is not None or batches is not None) and (is_pattern(slice) or min_n is not None):
        raise CheckArgumentError("a slice pattern and min_n= check whole slices: not with samples= or batches=")


def _check_aggregate_of(units: tuple[str, list[Unit]] | None, aggregate: str, max_failing_share: float | None) -> None:
    """``aggregate=`` and ``max_failing_share=`` apply only to samples or batches, and not both at once."""
    __tracebackhide__ = True
    if units is None and (aggregate != "each" or max_failing_share is not None):
        raise CheckArgumentError("aggregate= and max_failing_share= need samples= or batches=")
    if aggregate == "mean" and max_failing_share is not None:
        raise CheckArgumentError("give aggregate='mean' or max_failing_share=, not both")


def _slice_rows(
    run: ContextaRun,
    key: str,
    stage: str | None,
    slice: str | None,
    accept_incomplete: bool,
    selection: Selection,
    min_n: int | None,
    at_least: float | None,
    at_most: float | None,
    common: dict[str, Any],
) -> list[CheckResult]:
    """One row per matching slice (the overall value without ``slice``): skipped when too small, else its threshold
    row; a failing row when a pattern matches no slice or ``min_n`` skipped every one."""
    rows = [
        size_row(run, key, stage, s, selection, min_n, common)
        or threshold_row(run, key, stage, s, accept_incomplete, selection, at_least, at_most, common)
        for s in slices_of((run,), key, stage, slice)
    ]
    nothing = all_skipped_row(key, slice, rows, min_n) if rows else no_slice_row(key, slice, common)
    return rows + ([nothing] if nothing is not None else [])


def _failing_lines(head: str, rows: list[CheckResult]) -> str:
    return "\n".join([head, *(f"  {row.detail}" for row in rows if not row.passed)])
