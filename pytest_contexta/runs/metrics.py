"""Which recorded value of a metric a check uses, and why none can be used.

Only a complete value that stands for the whole scope decides: not a slice's (unless asked for),
not one sample's, not one batch's when the stage has several, and not one marked ``partial``,
``unknown`` or degraded (unless the check accepts it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from fnmatch import fnmatchcase
from statistics import fmean, stdev
from typing import NamedTuple

from ..reading.records import MetricRecord
from ..reading.refs import component_of, did_you_mean
from .models import ContextaRun
from .replicates import DEFAULT_REPLICATE_TAGS, choose, latest

RUN_LEVEL = "run level"
INCOMPLETE = ("partial", "unknown")


class MetricLookup(NamedTuple):
    """The value a check uses for ``key`` in ``run``, or the ``problem`` that leaves it without one.

    ``flags`` say what to know about the value: ``sampled``, or a marker the check accepted. With
    replicates, ``record`` is the latest of them and ``replicates`` holds one record per replicate.
    """

    run: ContextaRun
    key: str
    stage: str | None
    record: MetricRecord | None = None
    problem: str | None = None
    flags: tuple[str, ...] = ()
    replicates: tuple[MetricRecord, ...] = ()
    replicate_tags: tuple[str, ...] = ()

    @property
    def values(self) -> tuple[float, ...]:
        """Every replicate's value, or the one value; empty without a value."""
        if self.replicates:
            return tuple(record.value for record in self.replicates)
        return () if self.record is None else (self.record.value,)

    @property
    def value(self) -> float | None:
        """The value that counts: the mean of the replicates, or the one recorded value."""
        return fmean(self.values) if self.values else None

    @property
    def spread(self) -> str:
        """``mean of 5 seeds, sd 0.0041`` for a sample of replicates; empty otherwise."""
        if not self.replicates:
            return ""
        noun = "/".join(self.replicate_tags)
        sd = f", sd {stdev(self.values):.2g}" if len(self.values) > 1 else ""
        return f"mean of {len(self.values)} {noun}{'' if len(self.values) == 1 else 's'}{sd}"

    @property
    def scope(self) -> str:
        """Where the value came from: the stage name, or ``run level``."""
        if self.record is not None:
            return self.record.stage_name or RUN_LEVEL
        return self.stage or "any stage"

    @property
    def source(self) -> str:
        """The scope plus the sample or batch the value stands for and its flags, e.g. ``evaluate, sampled``."""
        parts = [self.scope]
        if self.record is not None and self.record.sample_ref is not None:
            parts.append(f"sample {component_of(self.record.sample_ref, -1)}")
        elif self.record is not None and self.record.batch_ref is not None:
            parts.append(f"batch {component_of(self.record.batch_ref, -1)}")
        parts += [self.spread] if self.spread else []
        return ", ".join([*parts, *self.flags])


class Selection(NamedTuple):
    """Which series a lookup takes (``tags``) and which tags tell its replicates apart."""

    tags: Mapping[str, str] | None = None
    replicate_tags: Sequence[str] = DEFAULT_REPLICATE_TAGS


def _chosen(
    run: ContextaRun, key: str, stage: str | None, records: list[MetricRecord], selection: Selection
) -> MetricLookup:
    chosen = choose(records, selection.tags, selection.replicate_tags)
    if chosen.problem is not None:
        return MetricLookup(run, key, stage, problem=chosen.problem)
    return MetricLookup(
        run,
        key,
        stage,
        latest(chosen.records),
        replicates=chosen.records if chosen.is_sample else (),
        replicate_tags=chosen.replicate_tags,
    )


def _scope_of(record: MetricRecord) -> str:
    return record.stage_name or RUN_LEVEL


def stage_batches(run: ContextaRun, stage_ref: str | None) -> set[str]:
    """The batches of a stage: its ledger rows and the batch refs its records carry."""
    if stage_ref is None:
        return set()
    return {batch.ref for batch in run.batches if batch.stage_ref == stage_ref} | run.batch_refs_in(stage_ref)


def _placement(
    run: ContextaRun, slice: str | None, sample: str | None, batch: str | None
) -> Callable[[MetricRecord], bool]:
    """Which records a lookup takes: one slice's (None: overall), and one sample's, one batch's, or the scope's.

    A batch's record stands for its stage only when the stage has exactly one batch.
    """
    single: dict[str | None, bool] = {}

    def only_batch(record: MetricRecord) -> bool:
        if record.stage_ref not in single:
            single[record.stage_ref] = len(stage_batches(run, record.stage_ref)) == 1
        return single[record.stage_ref]

    def takes(record: MetricRecord) -> bool:
        if record.slice_ref != slice or record.sample_ref != sample:
            return False
        if sample is not None:
            return True
        if batch is not None:
            return record.batch_ref == batch
        return record.batch_ref is None or only_batch(record)

    return takes


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}es" if noun.endswith("ch") else f"{number} {noun}s"


def _not_recorded(others: list[MetricRecord], slice: str | None, where: str = "") -> str:
    """Why a scope whose records of the key are ``others`` (none of them usable) has no value for ``slice``."""
    per_unit = _recorded_per_unit([m for m in others if m.slice_ref == slice], slice, where)
    if per_unit is not None:
        return per_unit
    sliced = ", ".join(sorted({m.slice_ref for m in others if m.slice_ref is not None}))
    if slice is None and sliced:
        return f"only recorded per slice ({sliced}){where}; the overall value is missing"
    if slice is None:
        return f"not recorded{where}"
    found = ["overall"] if any(m.slice_ref is None for m in others) else []
    found += [f"per slice ({sliced})"] if sliced else []
    return f"not recorded for slice {slice!r}{where}" + (f"; recorded {' and '.join(found)}" if found else "")


def _recorded_per_unit(mine: list[MetricRecord], slice: str | None, where: str) -> str | None:
    """Why the slice's records ``mine`` give no value when they are per sample or per batch; None otherwise."""
    samples = {m.sample_ref for m in mine if m.sample_ref is not None}
    batches = {m.batch_ref for m in mine if m.batch_ref is not None and m.sample_ref is None}
    value = "overall value" if slice is None else f"value for slice {slice!r}"
    if samples:
        return (
            f"only recorded per sample ({_count(len(samples), 'sample')}){where}; a sample's value never "
            f"stands for the {value} (pass samples='*' to check each sample)"
        )
    if batches:
        return (
            f"recorded per batch ({_count(len(batches), 'batch')}){where}; a batch's value stands for its "
            f"stage only when the stage has one batch (pass batches='*' to check each batch)"
        )
    return None


def _complete(lookup: MetricLookup, accept_incomplete: bool) -> MetricLookup:
    """The lookup, or its problem when the chosen value is marked incomplete or degraded and not accepted."""
    if lookup.record is None:
        return lookup
    checked = [_incomplete(lookup, record, accept_incomplete) for record in lookup.replicates or (lookup.record,)]
    refused = [found for found in checked if found.problem is not None]
    flagged = [found for found in checked if found.flags != lookup.flags]
    return (refused or flagged or [lookup])[0]


def _incomplete(lookup: MetricLookup, record: MetricRecord, accept_incomplete: bool) -> MetricLookup:
    marks = [f"completeness {record.completeness_marker!r}"] if record.completeness_marker in INCOMPLETE else []
    marks += [f"degradation {record.degradation_marker!r}"] if record.degradation_marker != "none" else []
    if marks and accept_incomplete:
        return lookup._replace(flags=(f"{' and '.join(marks)} accepted",))
    if marks:
        return lookup._replace(
            record=None,
            problem=(
                f"its value {record.value:.6g} ({record.ref}, {record.location}) is marked {' and '.join(marks)}, "
                f"so it is not a complete value; pass accept_incomplete=True to accept it for this check"
            ),
        )
    return lookup._replace(flags=("sampled",)) if record.completeness_marker == "sampled" else lookup


def find_metric(
    run: ContextaRun,
    key: str,
    stage: str | None = None,
    *,
    slice: str | None = None,
    sample: str | None = None,
    batch: str | None = None,
    accept_incomplete: bool = False,
    selection: Selection = Selection(),
) -> MetricLookup:
    """Select the value of ``key``: in ``stage`` when given, else at run level or in its only stage.

    A stage's value counts only when the stage has a ledger row and is completed, whether it was
    named or is the only one. Only the overall value counts (records without a ``slice_ref`` or a
    sample, in no batch or in the stage's only batch); with ``slice``, only that slice's; with
    ``sample`` or ``batch`` (a ref), only that sample's or batch's. A value marked ``partial``,
    ``unknown`` or degraded counts only with ``accept_incomplete``. ``selection`` chooses the series
    and says which tags tell replicates apart (see :mod:`.replicates`).
    """
    damaged = [line for line in run.damaged if line.could_hold_metric(key)]
    if damaged:
        where = ", ".join(str(line.location) for line in damaged)
        return MetricLookup(run, key, stage, problem=f"a damaged record that may hold it ({where})")
    keyed = list(run.metrics_with_key(key))
    takes = _placement(run, slice, sample, batch)
    records = [m for m in keyed if takes(m)]
    scopes = sorted({_scope_of(m) for m in records})
    if stage is not None:
        found = _find_in_stage(run, key, stage, slice, keyed, scopes, takes, selection)
    else:
        found = _find_in_its_scope(run, key, slice, keyed, records, scopes, takes, selection)
    if not keyed and found.problem is not None and found.problem.startswith("not recorded"):
        found = found._replace(problem=found.problem + did_you_mean(key, run.metric_keys()))
    return _complete(found, accept_incomplete)


def _find_in_its_scope(
    run: ContextaRun,
    key: str,
    slice: str | None,
    keyed: list[MetricRecord],
    records: list[MetricRecord],
    scopes: list[str],
    takes: Callable[[MetricRecord], bool],
    selection: Selection,
) -> MetricLookup:
    """Without ``stage=``: the run-level value, else the value of the only stage that has ``records``."""
    if not records:
        return MetricLookup(run, key, None, problem=_not_recorded(keyed, slice))
    if run_level := [m for m in records if m.stage_ref is None]:
        return _chosen(run, key, None, run_level, selection)
    if len(scopes) > 1:
        return MetricLookup(
            run, key, None, problem=f"recorded in several stages ({', '.join(scopes)}); pass stage= to choose one"
        )
    return _find_in_stage(run, key, scopes[0], slice, keyed, [], takes, selection)._replace(stage=None)


def _find_in_stage(
    run: ContextaRun,
    key: str,
    stage: str,
    slice: str | None,
    keyed: list[MetricRecord],
    scopes: list[str],
    takes: Callable[[MetricRecord], bool],
    selection: Selection,
) -> MetricLookup:
    elsewhere = f"; found in {', '.join(scopes)}" if scopes else ""
    stage_row = run.stage(stage)
    if stage_row is None:
        problem = f"the run has no stage {stage!r}"
        if any(m.stage_name == stage for m in keyed):
            problem += " (records name it, but the stage was never recorded in the ledger)"
        return MetricLookup(run, key, stage, problem=problem + elsewhere)
    in_stage = [m for m in keyed if m.stage_ref == stage_row.ref]
    chosen = [m for m in in_stage if takes(m)]
    if not chosen:
        problem = _not_recorded(in_stage, slice, f" in stage {stage!r}")
        return MetricLookup(run, key, stage, problem=problem + elsewhere)
    if stage_row.status != "completed":
        return MetricLookup(
            run,
            key,
            stage,
            problem=f"stage {stage!r} is {stage_row.status}, so its metrics do not count",
        )
    return _chosen(run, key, stage, chosen, selection)


def placements(run: ContextaRun, key: str, stage: str | None, slice: str | None, kind: str, pattern: str) -> list[str]:
    """The refs of the samples (``kind="sample"``) or batches of ``run`` whose records hold ``key``
    (in ``stage`` when given) and whose name matches the fnmatch ``pattern``, in ref order."""
    refs = set()
    for record in run.metrics_with_key(key):
        if record.slice_ref != slice or (stage is not None and record.stage_name != stage):
            continue
        ref = record.sample_ref if kind == "sample" else (None if record.sample_ref else record.batch_ref)
        if ref is not None and (fnmatchcase(component_of(ref, -1), pattern) or fnmatchcase(ref, pattern)):
            refs.add(ref)
    return sorted(refs)
