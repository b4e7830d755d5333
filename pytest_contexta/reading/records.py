"""The records of a run as the reader builds them from segment lines: metrics, events, degraded records, spans,
and the lines that could not be read (damaged lines), each with where it sits."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field, field_validator

from ..frozen import FrozenModel
from .refs import component_of
from .times import comparable_time, parse_time

_ModelT = TypeVar("_ModelT", bound=FrozenModel)


def trusted(model: type[_ModelT], fields: dict[str, Any]) -> _ModelT:
    """An instance of ``model`` from ``fields`` that were validated already, every field given.

    What ``model_construct`` does, without its per-call work (it costs ~7x more): the reader builds one
    record per segment line, up to millions per run. Instances share one fields-set per model (pydantic
    copies it before any change), which saves ~2 KB per record.
    """
    instance = model.__new__(model)
    object.__setattr__(instance, "__dict__", fields)
    object.__setattr__(instance, "__pydantic_fields_set__", _all_fields(model))
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance


_FIELD_SETS: dict[type[FrozenModel], set[str]] = {}


def _all_fields(model: type[FrozenModel]) -> set[str]:
    if model not in _FIELD_SETS:
        _FIELD_SETS[model] = set(model.model_fields)
    return _FIELD_SETS[model]


class RecordLocation(FrozenModel):
    """Where a record line sits: segment file name, 1-based line number, byte offset of the line."""

    segment: str
    line: int | None = None
    byte_offset: int | None = None

    def __str__(self) -> str:
        line = f" line {self.line}" if self.line is not None else ""
        return f"records/segments/{self.segment}{line}"


class _Record(FrozenModel):
    ref: str
    run_ref: str
    key: str
    sequence: int
    observed_at: str
    recorded_at: str
    producer_ref: str
    stage_ref: str | None = None
    batch_ref: str | None = None
    sample_ref: str | None = None
    deployment_ref: str | None = None
    completeness_marker: str = "complete"
    degradation_marker: str = "none"
    payload: dict[str, Any]
    location: RecordLocation

    _iso_time = field_validator("observed_at")(comparable_time)

    @property
    def stage_name(self) -> str | None:
        """The stage name from ``stage_ref`` (``stage:p.r.evaluate`` → ``evaluate``), or None for run level."""
        return None if self.stage_ref is None else component_of(self.stage_ref, -1)

    @property
    def observed_time(self) -> datetime:
        return parse_time(self.observed_at)


class MetricRecord(_Record):
    """One metric observation; ``value`` is always finite."""

    record_type: Literal["metric"] = "metric"
    value: float
    value_type: str
    unit: str | None = None
    aggregation_scope: str = "step"
    slice_ref: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("metric value is not finite")
        return value


class EventRecord(_Record):
    """A structured event, e.g. ``training.dataset-registered``."""

    record_type: Literal["event"] = "event"
    level: str
    message: str
    attributes: dict[str, Any] = Field(default_factory=dict)


class DegradedRecord(_Record):
    """Contexta's note that captured data is degraded; ``severity`` is the record's own (warning|error)."""

    record_type: Literal["degraded"] = "degraded"
    category: str
    severity: Literal["warning", "error"]
    summary: str
    attributes: dict[str, Any] = Field(default_factory=dict)


class SpanRecord(_Record):
    """A trace span (Contexta itself cannot read these back; the gate can)."""

    record_type: Literal["span"] = "span"
    status: str


Record = Annotated[MetricRecord | EventRecord | DegradedRecord | SpanRecord, Field(discriminator="record_type")]


class DamagedLine(FrozenModel):
    """A segment line that could not be read as a record, with what could still be told about it."""

    location: RecordLocation
    reason: str
    run_ref: str | None = None
    record_type: str | None = None
    key: str | None = None
    sequence: int | None = None

    def could_hold_metric(self, key: str) -> bool:
        """False only when the line names another known record type, or another metric key."""
        return self.record_type not in ("event", "degraded", "span") and self.key in (None, key)
