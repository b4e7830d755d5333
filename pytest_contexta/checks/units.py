"""The rows of a threshold check over several values: one per sample or batch (``samples=``/``batches=``),
or one per slice of a pattern."""

from __future__ import annotations

from statistics import fmean
from typing import Any, Literal, NamedTuple

from ..errors import CheckArgumentError
from ..reading.refs import component_of
from ..runs.metrics import MetricLookup, Selection, find_metric, placements
from ..runs.models import ContextaRun
from .arguments import check_pattern
from .regression import label, number
from .results import CheckResult


class Unit(NamedTuple):
    """One sample or batch of a metric and the lookup of its value."""

    kind: Literal["sample", "batch"]
    name: str
    lookup: MetricLookup

    def fields(self) -> dict[str, Any]:
        return {
            self.kind: self.name,
            "candidate_value": self.lookup.value,
            "value_source": self.lookup.source if self.lookup.record is not None else None,
        }


def find_units(
    run: ContextaRun,
    key: str,
    stage: str | None,
    slice: str | None,
    samples: str | None,
    batches: str | None,
    accept_incomplete: bool,
    selection: Selection,
) -> tuple[str, list[Unit]] | None:
    """With ``samples=`` or ``batches=``: what was asked for, and every matching sample's or batch's lookup."""
    __tracebackhide__ = True
    check_pattern("samples", samples)
    check_pattern("batches", batches)
    if samples is not None and batches is not None:
        raise CheckArgumentError("give samples= or batches=, not both")
    if samples is None and batches is None:
        return None
    kind: Literal["sample", "batch"] = "sample" if samples is not None else "batch"
    pattern = samples if samples is not None else batches
    assert pattern is not None
    plural = {"sample": "samples", "batch": "batches"}[kind]
    found = [
        Unit(
            kind,
            component_of(ref, -1),
            find_metric(
                run, key, stage, slice=slice, accept_incomplete=accept_incomplete, selection=selection, **{kind: ref}
            ),
        )
        for ref in placements(run, key, stage, slice, kind, pattern)
    ]
    return f"{plural} matching {pattern!r}", found


def within(value: float | None, at_least: float | None, at_most: float | None) -> bool:
    return value is not None and (at_least is None or value >= at_least) and (at_most is None or value <= at_most)


def unit_rows(
    name: str,
    asked: str,
    found: list[Unit],
    at_least: float | None,
    at_most: float | None,
    aggregate: str,
    max_failing_share: float | None,
    common: dict[str, Any],
) -> list[CheckResult]:
    """A threshold over samples or batches: a row per sample that breaks it (every one that has no usable
    value; with ``aggregate="each"`` and no share, every one out of bounds too), then one row for them all."""
    limit = common["limit"]
    breaking = [unit for unit in found if not within(unit.lookup.value, at_least, at_most)]
    each = aggregate == "each" and max_failing_share is None
    rows = [_breaking_row(name, unit, common) for unit in breaking if unit.lookup.problem is not None or each]
    if not found:
        return [CheckResult(passed=False, detail=f"{name}: no {asked} hold it", **common)]
    if aggregate == "mean":
        return [*rows, _mean_row(name, asked, found, not rows, at_least, at_most, common)]
    if max_failing_share is not None:
        return [*rows, _share_row(name, asked, len(found), breaking, max_failing_share, common)]
    return [
        *rows,
        CheckResult(
            passed=not breaking,
            **common,
            detail=f"{name}: {len(found) - len(breaking)} of {len(found)} {asked} meet {limit}",
        ),
    ]


def _breaking_row(name: str, unit: Unit, common: dict[str, Any]) -> CheckResult:
    """The failing row of one sample or batch: its problem, or its value out of bounds."""
    return CheckResult(
        passed=False,
        **unit.fields(),
        **common,
        detail=(
            f"{name} [{unit.kind} {unit.name}]: {unit.lookup.problem}"
            if unit.lookup.problem is not None
            else f"{name} = {number(unit.lookup.value)} ({unit.lookup.source}); required {common['limit']}"
        ),
    )


def _mean_row(
    name: str,
    asked: str,
    found: list[Unit],
    each_usable: bool,
    at_least: float | None,
    at_most: float | None,
    common: dict[str, Any],
) -> CheckResult:
    """``aggregate="mean"``: the mean of the usable values within bounds, and none of the units without a value."""
    values = [unit.lookup.value for unit in found if unit.lookup.value is not None]
    mean = fmean(values) if values else None
    return CheckResult(
        passed=each_usable and within(mean, at_least, at_most),
        candidate_value=mean,
        detail=f"{name}: mean of {len(found)} {asked} = {number(mean)}; required {common['limit']}",
        **common,
    )


def _share_row(
    name: str, asked: str, total: int, breaking: list[Unit], max_failing_share: float, common: dict[str, Any]
) -> CheckResult:
    """``max_failing_share=``: at most that share of the ``total`` units break the bounds (or have no value)."""
    share = len(breaking) / total
    names = f" ({', '.join(unit.name for unit in breaking)})" if breaking else ""
    return CheckResult(
        passed=share <= max_failing_share + 1e-12,
        **common,
        detail=(
            f"{name}: {len(breaking)} of {total} {asked} ({share:.2%}) break {common['limit']}{names}; "
            f"allowed at most {max_failing_share:.2%}"
        ),
    )


def threshold_row(
    run: ContextaRun,
    key: str,
    stage: str | None,
    slice: str | None,
    accept_incomplete: bool,
    selection: Selection,
    at_least: float | None,
    at_most: float | None,
    common: dict[str, Any],
) -> CheckResult:
    lookup = find_metric(run, key, stage, slice=slice, accept_incomplete=accept_incomplete, selection=selection)
    name = label(key, slice)
    detail = (
        f"{name}: {lookup.problem}"
        if lookup.problem is not None
        else f"{name} = {number(lookup.value)} ({lookup.source}); required {common['limit']}"
    )
    return CheckResult(
        passed=lookup.problem is None and within(lookup.value, at_least, at_most),
        candidate_value=lookup.value,
        detail=detail,
        value_source=lookup.source if lookup.record else None,
        **{**common, "slice": slice},
    )
