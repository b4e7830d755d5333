"""The payload of each record kind (metric, event, degraded, span), validated as Contexta's payload models do."""

from __future__ import annotations

import math
from typing import Any

from .record_fields import (
    DOT_OR_SNAKE,
    DOT_TOKEN,
    SNAKE_TOKEN,
    RefusedRecord,
    choice_field,
    mapping_field,
    quoted,
    remembered,
    text_field,
    token_field,
)

_SCOPES = ("run", "stage", "operation", "step", "slice")
_LEVELS = ("debug", "info", "warning", "error", "critical")
_CATEGORIES = ("capture", "store", "import", "compatibility", "verification", "recovery")
_SPAN_STATUSES = ("ok", "error", "cancelled", "timeout")
_is_text = str.__instancecheck__
_METRIC_FIELDS = ("metric_key", "value_type", "unit", "aggregation_scope", "slice_ref")
_metric_kinds: dict[tuple[Any, ...], dict[str, Any]] = {}


def metric(payload: dict[str, Any], fields: dict[str, Any]) -> None:
    """Add the metric's fields to ``fields``."""
    value = payload["value"]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RefusedRecord(f"metric value {quoted(repr(value), 40)} is not a number")
    if not math.isfinite(value):
        raise RefusedRecord(f"metric value is not finite ({value})")
    tags = mapping_field(payload, "tags")
    if tags and not all(map(_is_text, tags.values())):
        raise RefusedRecord("tags values are not all strings")
    kind = remembered(_metric_kinds, tuple(map(payload.get, _METRIC_FIELDS)), lambda: _metric_kind(payload))
    for field, name in (
        ("metric_key", "key"),
        ("value_type", "value_type"),
        ("aggregation_scope", "aggregation_scope"),
    ):
        if field in payload:
            payload[field] = kind[name]  # share the validated strings across a run's records (memory per record)
    fields.update(kind)
    fields["value"] = float(value)
    fields["tags"] = tags


def _metric_kind(payload: dict[str, Any]) -> dict[str, Any]:
    """A metric payload's repeated fields, validated as Contexta's MetricPayload does."""
    return {
        "key": token_field(payload, "metric_key", DOT_TOKEN, required=True),
        "value_type": token_field(payload, "value_type", SNAKE_TOKEN, required=True),
        "unit": text_field(payload, "unit"),
        "aggregation_scope": choice_field(payload, "aggregation_scope", _SCOPES) or "step",
        "slice_ref": token_field(payload, "slice_ref", DOT_OR_SNAKE),
    }


def event(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": token_field(payload, "event_key", DOT_TOKEN, required=True),
        "level": choice_field(payload, "level", _LEVELS, required=True),
        "message": text_field(payload, "message", required=True),
        "attributes": mapping_field(payload, "attributes"),
    }


def degraded(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": token_field(payload, "issue_key", DOT_OR_SNAKE, required=True),
        "category": choice_field(payload, "category", _CATEGORIES, required=True),
        "severity": choice_field(payload, "severity", ("warning", "error"), required=True),
        "summary": text_field(payload, "summary", required=True),
        "attributes": mapping_field(payload, "attributes"),
    }


def span(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": text_field(payload, "span_name", required=True),
        "status": choice_field(payload, "status", _SPAN_STATUSES, required=True),
    }
