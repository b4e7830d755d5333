"""Which recorded value of a metric a check uses, and why none can be used."""

from __future__ import annotations

import re
from typing import NamedTuple

from .models import ContextaRun, MetricRecord

RUN_LEVEL = "run level"
SLICE_REF = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*")


class MetricLookup(NamedTuple):
    """The value a check uses for ``key`` in ``run``, or the ``problem`` that leaves it without one."""

    run: ContextaRun
    key: str
    stage: str | None
    record: MetricRecord | None = None
    problem: str | None = None

    @property
    def value(self) -> float | None:
        return None if self.record is None else self.record.value

    @property
    def scope(self) -> str:
        """Where the value came from: the stage name, or ``run level``."""
        if self.record is not None:
            return self.record.stage_name or RUN_LEVEL
        return self.stage or "any stage"


def latest(records: list[MetricRecord]) -> MetricRecord:
    """The value that counts when a metric was logged several times in one scope.

    Latest by ``observed_at`` compared as real times (not strings, unlike Contexta); on equal
    times the record appended last wins, as in Contexta.
    """
    return max(records, key=lambda record: (record.observed_time, record.sequence))


def _scope_of(record: MetricRecord) -> str:
    return record.stage_name or RUN_LEVEL


def _not_recorded(others: list[MetricRecord], slice: str | None, where: str = "") -> str:
    """Why a scope whose records of the key are ``others`` (all of other slices) has no value for ``slice``."""
    sliced = ", ".join(sorted({m.slice_ref for m in others if m.slice_ref is not None}))
    if slice is None and sliced:
        return f"only recorded per slice ({sliced}){where}; the overall value is missing"
    if slice is None:
        return f"not recorded{where}"
    found = ["overall"] if any(m.slice_ref is None for m in others) else []
    found += [f"per slice ({sliced})"] if sliced else []
    return f"not recorded for slice {slice!r}{where}" + (f"; recorded {' and '.join(found)}" if found else "")


def find_metric(run: ContextaRun, key: str, stage: str | None = None, *, slice: str | None = None) -> MetricLookup:
    """Select the value of ``key``: in ``stage`` when given, else at run level or in its only stage.

    A stage's value counts only when the stage has a ledger row and is completed, whether it was
    named or is the only one. Only records without a ``slice_ref`` count (the overall value); with
    ``slice``, only that slice's.
    """
    damaged = [line for line in run.damaged if line.could_hold_metric(key)]
    if damaged:
        where = ", ".join(str(line.location) for line in damaged)
        return MetricLookup(run, key, stage, problem=f"a damaged record that may hold it ({where})")
    keyed = [m for m in run.metrics if m.key == key]
    records = [m for m in keyed if m.slice_ref == slice]
    scopes = sorted({_scope_of(m) for m in records})
    if stage is not None:
        return _find_in_stage(run, key, stage, slice, keyed, scopes)
    if not records:
        return MetricLookup(run, key, stage, problem=_not_recorded(keyed, slice))
    run_level = [m for m in records if m.stage_ref is None]
    if run_level:
        return MetricLookup(run, key, stage, latest(run_level))
    if len(scopes) > 1:
        return MetricLookup(
            run, key, stage,
            problem=f"recorded in several stages ({', '.join(scopes)}); pass stage= to choose one",
        )
    return _find_in_stage(run, key, scopes[0], slice, keyed, [])._replace(stage=None)


def _find_in_stage(
    run: ContextaRun, key: str, stage: str, slice: str | None, keyed: list[MetricRecord], scopes: list[str]
) -> MetricLookup:
    elsewhere = f"; found in {', '.join(scopes)}" if scopes else ""
    stage_row = run.stage(stage)
    if stage_row is None:
        problem = f"the run has no stage {stage!r}"
        if any(m.stage_name == stage for m in keyed):
            problem += " (records name it, but the stage was never recorded in the ledger)"
        return MetricLookup(run, key, stage, problem=problem + elsewhere)
    in_stage = [m for m in keyed if m.stage_ref == stage_row.ref]
    chosen = [m for m in in_stage if m.slice_ref == slice]
    if not chosen:
        problem = _not_recorded(in_stage, slice, f" in stage {stage!r}")
        return MetricLookup(run, key, stage, problem=problem + elsewhere)
    if stage_row.status != "completed":
        return MetricLookup(
            run, key, stage,
            problem=f"stage {stage!r} is {stage_row.status}, so its metrics do not count",
        )
    return MetricLookup(run, key, stage, latest(chosen))
