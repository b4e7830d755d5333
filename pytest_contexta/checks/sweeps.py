"""Slice sweeps: ``slice="segment.*"`` checks every matching slice, one row each; ``min_n`` skips the slices
with too few examples (a ``<key>.n`` record), and says so in a row of their own (a warning of the verdict).

A ``<key>.n`` that is not a non-negative whole number (``-1000``, ``0.3``) fails its slice, naming the record;
a metric whose every slice ``min_n`` skipped checked nothing, and fails."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import Any

from ..errors import CheckArgumentError
from ..reading.records import MetricRecord
from ..runs.metrics import MetricLookup, Selection, find_metric
from ..runs.models import ContextaRun
from .arguments import check_slice
from .results import CheckResult

_SLICE_PATTERN = re.compile(r"[a-z0-9_.*?\[\]!]+")


def is_pattern(slice: str | None) -> bool:
    return isinstance(slice, str) and any(char in slice for char in "*?[")


def check_slice_argument(slice: str | None) -> None:
    """A slice ref, or an fnmatch pattern of slice refs such as ``segment.*``."""
    __tracebackhide__ = True
    if not is_pattern(slice):
        check_slice(slice)
    elif not isinstance(slice, str) or _SLICE_PATTERN.fullmatch(slice) is None:
        raise CheckArgumentError(
            f"slice pattern {slice!r} cannot match a Contexta slice_ref: use lowercase "
            f"letters, digits, '_', '.' and the wildcards '*', '?', '[...]'"
        )


def slices_of(runs: Iterable[ContextaRun], key: str, stage: str | None, slice: str | None) -> list[str | None]:
    """``[slice]`` for a ref or None; for a pattern, every slice of ``key`` in ``runs`` it matches, sorted."""
    if not is_pattern(slice):
        return [slice]
    assert slice is not None
    found: set[str | None] = {
        record.slice_ref
        for run in runs
        for record in run.metrics_with_key(key)
        if record.slice_ref is not None
        and (stage is None or record.stage_name == stage)
        and fnmatchcase(record.slice_ref, slice)
    }
    return sorted(found, key=str)


def no_slice_row(key: str, pattern: str | None, common: dict[str, Any]) -> CheckResult:
    return CheckResult(passed=False, detail=f"{key}: no slice matches {pattern!r}", **{**common, "metric": key})


def size_row(
    run: ContextaRun,
    key: str,
    stage: str | None,
    slice: str | None,
    selection: Selection,
    min_n: int | None,
    common: dict[str, Any],
) -> CheckResult | None:
    """A row that skips the slice (fewer than ``min_n`` examples) or fails it (its size is unknown);
    ``None`` when it is to be checked."""
    if min_n is None:
        return None
    found = find_metric(run, f"{key}.n", stage, slice=slice, selection=selection)
    name = f"{key} [{slice}]" if slice else key
    fields = {**common, "metric": key, "slice": slice}
    if found.value is None:
        return CheckResult(
            passed=False,
            **fields,
            detail=(
                f"{name}: min_n={min_n} needs the number of examples, and {key}.n gives none "
                f"({found.problem}); log it with the metric"
            ),
        )
    impossible = _impossible_count(found)
    if impossible is not None:
        return CheckResult(
            passed=False,
            **fields,
            detail=(
                f"{name}: {key}.n must be a non-negative whole number of examples, but record {impossible.ref} "
                f"({impossible.location}) holds {impossible.value:g}; fix the count the run logs"
            ),
        )
    if found.value < min_n:
        return CheckResult(
            outcome="skipped",
            passed=True,
            **fields,
            detail=f"{name}: skipped, {found.value:g} examples < min_n={min_n}",
        )
    return None


def _impossible_count(found: MetricLookup) -> MetricRecord | None:
    """The first ``<key>.n`` record the lookup uses whose value is no count of examples (negative or fractional)."""
    records = found.replicates or ((found.record,) if found.record is not None else ())
    return next((r for r in records if r.value < 0 or not math.isfinite(r.value) or r.value != int(r.value)), None)


def all_skipped_row(key: str, slice: str | None, rows: list[CheckResult], min_n: int | None) -> CheckResult | None:
    """A failing row when ``min_n`` skipped every slice of ``key`` the call matched: it checked nothing."""
    if min_n is None or not rows or any(row.outcome != "skipped" for row in rows):
        return None
    where = f"every slice matching {slice!r}" if is_pattern(slice) else f"slice {slice!r}" if slice else "the metric"
    common = rows[0].model_dump(include={"kind", "run_ref", "stage", "baseline_ref"})
    return CheckResult(
        passed=False,
        **common,
        metric=key,
        slice=slice,
        detail=(
            f"{key}: min_n={min_n} skipped {where} ({len(rows)} of {len(rows)}), so nothing was checked; "
            f"log more examples or lower min_n"
        ),
    )
