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
    rows = [
        CheckResult(
            passed=False,
            **unit.fields(),
            **common,
            detail=(
                f"{name} [{unit.kind} {unit.name}]: {unit.lookup.problem}"
                if unit.lookup.problem is not None
                else f"{name} = {number(unit.lookup.value)} ({unit.lookup.source}); required {limit}"
            ),
        )
        for unit in breaking
        if unit.lookup.problem is not None or each
    ]
    if not found:
        return [CheckResult(passed=False, detail=f"{name}: no {asked} hold it", **common)]
    if aggregate == "mean":
        values = [unit.lookup.value for unit in found if unit.lookup.value is not None]
        mean = fmean(values) if values else None
        return [
            *rows,
            CheckResult(
                passed=not rows and within(mean, at_least, at_most),
                candidate_value=mean,
                detail=f"{name}: mean of {len(found)} {asked} = {number(mean)}; required {limit}",
                **common,
            ),
        ]
    if max_failing_share is not None:
        share = len(breaking) / len(found)
        names = f" ({', '.join(unit.name for unit in breaking)})" if breaking else ""
        return [
            *rows,
            CheckResult(
                passed=share <= max_failing_share + 1e-12,
                **common,
                detail=(
                    f"{name}: {len(breaking)} of {len(found)} {asked} ({share:.2%}) break {limit}{names}; "
                    f"allowed at most {max_failing_share:.2%}"
                ),
            ),
        ]
    return [
        *rows,
        CheckResult(
            passed=not breaking,
            **common,
            detail=f"{name}: {len(found) - len(breaking)} of {len(found)} {asked} meet {limit}",
        ),
    ]


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
