"""The plugin's own view of a Contexta workspace: frozen pydantic models, independent of Contexta's classes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import (
    Field,
    PrivateAttr,
    ValidatorFunctionWrapHandler,
    field_serializer,
    field_validator,
)

from ..frozen import FrozenModel
from ..reading.records import DamagedLine, DegradedRecord, EventRecord, MetricRecord, Record
from ..reading.refs import component_of
from ..reading.rows import Batch, Deployment, EnvironmentSnapshot, Run, Stage
from ..reading.run_records import RunRecordList

Severity = Literal["info", "warning", "error"]


class Diagnostic(FrozenModel):
    """An issue found on a run.

    ``contexta_severity`` is what Contexta's own ``diagnose_run`` reports for the same issue, or None
    when Contexta does not report it at all; ``severity`` is what the gate uses.
    """

    code: str
    severity: Severity
    summary: str
    subject_ref: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    contexta_severity: Severity | None = None
    source: str = "custom"


#: The records a run's index was built from, its metric records, and those by key.
_MetricIndex = tuple[Sequence[Record], tuple[MetricRecord, ...], dict[str, tuple[MetricRecord, ...]]]


class ContextaRun(FrozenModel):
    """Everything the gate knows about one run, read once per session.

    ``records`` is a read-only sequence in append order; as the reader builds it, metric lines of a repeated
    shape are held compact and become records only when asked for (:mod:`.run_records`), so prefer
    :meth:`metrics_with_key` to scanning every record of a run with a million per-step values.
    """

    run: Run
    stages: tuple[Stage, ...] = ()
    batches: tuple[Batch, ...] = ()
    deployments: tuple[Deployment, ...] = ()
    environments: tuple[EnvironmentSnapshot, ...] = ()
    records: Sequence[Record] = ()
    damaged: tuple[DamagedLine, ...] = ()
    reader_notes: tuple[str, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    #: (the records it was built from, the metric records, those by key): rebuilt for a copy with other records.
    _metric_index: _MetricIndex | None = PrivateAttr(default=None)

    @field_validator("records", mode="wrap")
    @classmethod
    def _records_as_read(cls, records: Any, validate: ValidatorFunctionWrapHandler) -> Sequence[Record]:
        """The reader's sequence as it is; anything else validated record by record into a tuple."""
        return records if isinstance(records, RunRecordList) else tuple(validate(records))

    @field_serializer("records")
    def _records_in_order(self, records: Sequence[Record]) -> list[Record]:
        """Dumped as a list, whichever sequence holds them (compact lines are built one by one)."""
        return list(records)

    @property
    def ref(self) -> str:
        return self.run.ref

    @property
    def name(self) -> str:
        return self.run.name

    @property
    def project(self) -> str:
        return component_of(self.run.project_ref, 0)

    @property
    def status(self) -> str:
        return self.run.status

    def stage(self, name: str) -> Stage | None:
        """The stage called ``name``, or None when the run has no such stage."""
        return next((stage for stage in self.stages if stage.name == name), None)

    @property
    def metrics(self) -> tuple[MetricRecord, ...]:
        """The run's metric records in append order (built once per run)."""
        return self._metrics_by_key()[1]

    def __eq__(self, other: object) -> bool:
        """Equal fields make equal runs, whether or not either has built its metric index."""
        return isinstance(other, ContextaRun) and self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]  # records hold dicts: a run was never hashable

    def metrics_with_key(self, key: str) -> tuple[MetricRecord, ...]:
        """The run's metric records of ``key`` in append order; the records are indexed by key once per run."""
        if isinstance(self.records, RunRecordList):
            return self.records.with_key(key)
        return self._metrics_by_key()[2].get(key, ())

    def _metrics_by_key(self) -> _MetricIndex:
        if self._metric_index is None or self._metric_index[0] is not self.records:
            metrics = tuple(record for record in self.records if isinstance(record, MetricRecord))
            index: dict[str, list[MetricRecord]] = {}
            for metric in metrics:
                index.setdefault(metric.key, []).append(metric)
            self._metric_index = (self.records, metrics, {name: tuple(found) for name, found in index.items()})
        return self._metric_index

    def _decoded(self) -> Sequence[Record]:
        """Every record that is not a compact metric line (all events, degraded records and spans among them)."""
        return self.records.decoded if isinstance(self.records, RunRecordList) else self.records

    @property
    def events(self) -> tuple[EventRecord, ...]:
        return tuple(r for r in self._decoded() if isinstance(r, EventRecord))

    @property
    def degraded_records(self) -> tuple[DegradedRecord, ...]:
        return tuple(r for r in self._decoded() if isinstance(r, DegradedRecord))

    def metric_keys(self, stage: str | None = None) -> set[str]:
        """Keys of the run's metrics, optionally only those recorded in ``stage``."""
        if isinstance(self.records, RunRecordList):
            return self.records.metric_keys(stage)
        return {m.key for m in self.metrics if stage is None or m.stage_name == stage}

    def metric_stage_refs(self) -> set[str | None]:
        """The stage refs (None for run level) under which the run holds at least one metric record."""
        if isinstance(self.records, RunRecordList):
            return self.records.metric_stage_refs()
        return {m.stage_ref for m in self.metrics}

    def batch_refs_in(self, stage_ref: str) -> set[str]:
        """The batch refs that the records of stage ``stage_ref`` carry."""
        if isinstance(self.records, RunRecordList):
            return self.records.batch_refs(stage_ref)
        return {r.batch_ref for r in self.records if r.stage_ref == stage_ref and r.batch_ref}

    def marked_degraded(self) -> list[Record]:
        """The records whose ``degradation_marker`` is not ``none``, in append order."""
        if isinstance(self.records, RunRecordList):
            return self.records.marked_degraded()
        return [r for r in self.records if r.degradation_marker != "none"]

    def __str__(self) -> str:
        return self.ref

    def __repr__(self) -> str:
        return f"ContextaRun({self.ref}, {self.status}, {len(self.records)} records)"


class BaselineChoice(FrozenModel):
    """The run a candidate is compared against and why; ``run_ref`` None means there is none.

    ``source`` is ``option`` (--contexta-baseline RUN), ``hook`` (pytest_contexta_select_baseline),
    ``latest-deployment`` (the default rule) or ``none`` (a declared first deployment).
    """

    run_ref: str | None
    reason: str
    source: Literal["option", "hook", "latest-deployment", "none"] = "hook"

    @property
    def declared_none(self) -> bool:
        return self.source == "none"
