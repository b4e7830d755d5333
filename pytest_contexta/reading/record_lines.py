"""Decode one segment line into a record, with the rules Contexta's ``RecordStore.append`` enforces.

A line Contexta would refuse to write (or could not read back) is a :class:`DamagedLine`, never a record:
wrong ref shapes or prefixes, timestamps that are not ISO-8601 ``Z`` or run backwards, unknown markers, a
degraded record whose ``degradation_marker`` is ``none``, a non-finite metric value, invalid keys. Lines are
length-bounded and too deep JSON nesting is caught, so no line costs more than its size or raises.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any, TypeVar

from ..text import printable
from .records import DamagedLine, DegradedRecord, EventRecord, MetricRecord, Record, RecordLocation, SpanRecord, trusted

#: Longer lines are damaged without being decoded (Contexta's records are a few hundred bytes).
MAX_LINE_BYTES = 16 * 2**20

_RUN_REF = re.compile(rb'"run_ref":"(run:[a-z0-9.-]+)"')
_RECORD_REF = re.compile(rb'"record_ref":"record:([a-z0-9-]+)\.([a-z0-9-]+)\.')
_RECORD_TYPE = re.compile(rb'"record_type":"([a-z_]+)"')
_SEQUENCE_AT_END = re.compile(rb'"sequence":(\d{1,18})\}\s*$')
_KEY = re.compile(rb'"(?:metric_key|event_key|issue_key|span_name)":"([a-z0-9._-]+)"')
_COMPONENT = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_ISO_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z")
_DOT_TOKEN = re.compile(r"[a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)*")
_SNAKE_TOKEN = re.compile(r"[a-z][a-z0-9_]*")
_DOT_OR_SNAKE = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*")

_COMPLETENESS = ("complete", "partial", "sampled", "absent", "unknown")
_DEGRADATION = ("none", "partial_failure", "capture_gap", "import_loss", "compatibility_upgrade")
_SCOPES = ("run", "stage", "operation", "step", "slice")
_LEVELS = ("debug", "info", "warning", "error", "critical")
_CATEGORIES = ("capture", "store", "import", "compatibility", "verification", "recovery")
_SPAN_STATUSES = ("ok", "error", "cancelled", "timeout")
#: Components of each core ref kind (Contexta's ``validate_core_stable_ref``).
_COMPONENTS = {
    "run": (2,),
    "record": (3,),
    "stage": (3,),
    "deployment": (2,),
    "batch": (4,),
    "sample": (4, 5),
    "op": (4, 5),
}


class RefusedRecord(ValueError):
    """The line is JSON, but Contexta would refuse it as a record; the message says why."""


def parse_line(line: bytes, location: RecordLocation) -> Record | DamagedLine:
    """Turn one segment line into a record, or a :class:`DamagedLine` that says what is wrong with it."""
    if len(line) > MAX_LINE_BYTES:
        return damaged(line[:4096], location, f"longer than {MAX_LINE_BYTES // 2**20} MiB")
    try:
        document = json.loads(line.decode("utf-8"))  # Contexta reads UTF-8 only
    except RecursionError:
        return damaged(line, location, "JSON nested too deeply")
    except ValueError:
        return damaged(line, location, "not valid JSON (truncated or corrupted line)")
    try:
        return _record(document, location)
    except (RefusedRecord, KeyError, TypeError, AttributeError, OverflowError) as exc:
        return damaged(line, location, f"not a record Contexta would accept ({_problem(exc)})")


def damaged(line: bytes, location: RecordLocation, reason: str) -> DamagedLine:
    """A damaged line, with the run, record type and key that can still be read from its bytes."""
    run = _RUN_REF.search(line)
    record = _RECORD_REF.search(line)
    run_ref = (
        run.group(1).decode()
        if run
        else (f"run:{record.group(1).decode()}.{record.group(2).decode()}" if record else None)
    )
    record_type = _RECORD_TYPE.search(line)
    key = _KEY.search(line)
    sequence = _SEQUENCE_AT_END.search(line)
    return DamagedLine(
        location=location,
        reason=reason,
        run_ref=run_ref,
        record_type=record_type.group(1).decode() if record_type else None,
        key=key.group(1).decode() if key else None,
        sequence=int(sequence.group(1)) if sequence else None,
    )


def _quoted(value: object, limit: int = 80) -> str:
    """A value from the line, quoted, escaped and cut for a message."""
    text = printable(str(value))
    return f"'{text[:limit]}…'" if len(text) > limit else f"'{text}'"


def _problem(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {_quoted(exc.args[0])}"
    if isinstance(exc, RefusedRecord):
        return printable(str(exc))
    if isinstance(exc, OverflowError):
        return "a number is out of range"
    return "a field has the wrong JSON type"


def _record(document: dict[str, Any], location: RecordLocation) -> Record:
    record, sequence = document["record"], document["sequence"]
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
        raise RefusedRecord(f"sequence {_quoted(sequence)} is not a positive integer")
    envelope, payload = record["envelope"], record["payload"]
    if not isinstance(payload, dict):
        raise RefusedRecord("payload is not an object")
    fields = _envelope(envelope)
    fields.update(sequence=sequence, payload=payload, location=location)
    record_type = fields["record_type"]
    if record_type == "metric":
        _metric(payload, fields)
        return trusted(MetricRecord, fields)
    if record_type == "event":
        fields.update(_event(payload))
        return trusted(EventRecord, fields)
    if record_type == "degraded":
        if fields["degradation_marker"] == "none":
            raise RefusedRecord("a degraded record must carry a degradation_marker other than 'none'")
        fields.update(_degraded(payload))
        return trusted(DegradedRecord, fields)
    fields.update(_span(payload))
    return trusted(SpanRecord, fields)


#: Envelope fields that repeat across a run's records: validated once per distinct combination.
_CONTEXT_FIELDS = (
    "run_ref",
    "stage_execution_ref",
    "batch_execution_ref",
    "sample_observation_ref",
    "operation_context_ref",
    "deployment_execution_ref",
    "producer_ref",
    "record_type",
    "completeness_marker",
    "degradation_marker",
    "schema_version",
)
_MAX_CACHED = 100_000
_Checked = TypeVar("_Checked")


def _remembered(
    cache: dict[tuple[Any, ...], _Checked], key: tuple[Any, ...], check: Callable[[], _Checked]
) -> _Checked:
    """``check()`` done once per distinct ``key`` (a bounded cache): repeated field values are validated once.

    A key holding a list or object where a string belongs cannot be cached: ``check()`` runs and says which.
    """
    try:
        found = cache.get(key)
    except TypeError:
        return check()
    if found is None:
        found = check()
        if len(cache) >= _MAX_CACHED:
            cache.clear()
        cache[key] = found
    return found


_contexts: dict[tuple[Any, ...], tuple[str, dict[str, Any]]] = {}  # -> (record_ref prefix, fields)


def _envelope(envelope: dict[str, Any]) -> dict[str, Any]:
    prefix, shared = _remembered(_contexts, tuple(map(envelope.get, _CONTEXT_FIELDS)), lambda: _context(envelope))
    record_ref = envelope.get("record_ref")
    token = record_ref[len(prefix) :] if isinstance(record_ref, str) else ""
    if not (
        isinstance(record_ref, str)
        and record_ref.startswith(prefix)
        and len(record_ref) <= 255
        and len(token) <= 63
        and _COMPONENT.fullmatch(token)
    ):
        _same_prefix(
            _ref(envelope, "record_ref", "record", required=True), shared["run_ref"], 2, "record_ref", "run_ref"
        )
    observed_at = _timestamp(envelope, "observed_at")
    if envelope.get("recorded_at") == observed_at:
        recorded_at = observed_at  # valid as observed_at is, and one string object for both (memory per record)
    else:
        recorded_at = _timestamp(envelope, "recorded_at")
        if recorded_at < observed_at:
            raise RefusedRecord("recorded_at is earlier than observed_at")
    fields = shared.copy()
    fields.update(ref=record_ref, observed_at=observed_at, recorded_at=recorded_at)
    return fields


def _context(envelope: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The envelope's repeated fields, validated as Contexta's RecordEnvelope does."""
    run_ref = _ref(envelope, "run_ref", "run", required=True)
    stage_ref = _ref(envelope, "stage_execution_ref", "stage")
    batch_ref = _ref(envelope, "batch_execution_ref", "batch")
    sample_ref = _ref(envelope, "sample_observation_ref", "sample")
    operation_ref = _ref(envelope, "operation_context_ref", "op")
    if stage_ref is not None:
        _same_prefix(stage_ref, run_ref, 2, "stage_execution_ref", "run_ref")
    if (batch_ref or sample_ref or operation_ref) is not None and stage_ref is None:
        raise RefusedRecord("batch, sample and operation refs require stage_execution_ref")
    if batch_ref is not None:
        _same_prefix(batch_ref, stage_ref, 3, "batch_execution_ref", "stage_execution_ref")
    owner = batch_ref or stage_ref
    for name, ref in (("sample_observation_ref", sample_ref), ("operation_context_ref", operation_ref)):
        if ref is not None:
            _same_prefix(ref, owner, owner.count(".") + 1, name, "its stage or batch")
    record_type = _choice(envelope, "record_type", ("metric", "event", "degraded", "span"), required=True)
    completeness = _choice(envelope, "completeness_marker", _COMPLETENESS) or "complete"
    if completeness == "absent" and record_type != "degraded":
        raise RefusedRecord(f"a {record_type} record cannot use completeness_marker 'absent'")
    schema_version = envelope.get("schema_version", "1.0.0")
    if not isinstance(schema_version, str) or not schema_version.strip():
        raise RefusedRecord("schema_version is not a non-blank string")
    return f"record:{run_ref.partition(':')[2]}.", {
        "record_type": record_type,
        "run_ref": run_ref,
        "producer_ref": _token(envelope, "producer_ref", _DOT_TOKEN, required=True),
        "stage_ref": stage_ref,
        "batch_ref": batch_ref,
        "sample_ref": sample_ref,
        "deployment_ref": _ref(envelope, "deployment_execution_ref", "deployment"),
        "completeness_marker": completeness,
        "degradation_marker": _choice(envelope, "degradation_marker", _DEGRADATION) or "none",
    }


_is_text = str.__instancecheck__
_METRIC_FIELDS = ("metric_key", "value_type", "unit", "aggregation_scope", "slice_ref")
_metric_kinds: dict[tuple[Any, ...], dict[str, Any]] = {}


def _metric(payload: dict[str, Any], fields: dict[str, Any]) -> None:
    """Add the metric's fields to ``fields``."""
    value = payload["value"]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RefusedRecord(f"metric value {_quoted(repr(value), 40)} is not a number")
    if not math.isfinite(value):
        raise RefusedRecord(f"metric value is not finite ({value})")
    tags = _mapping(payload, "tags")
    if tags and not all(map(_is_text, tags.values())):
        raise RefusedRecord("tags values are not all strings")
    kind = _remembered(_metric_kinds, tuple(map(payload.get, _METRIC_FIELDS)), lambda: _metric_kind(payload))
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
        "key": _token(payload, "metric_key", _DOT_TOKEN, required=True),
        "value_type": _token(payload, "value_type", _SNAKE_TOKEN, required=True),
        "unit": _text(payload, "unit"),
        "aggregation_scope": _choice(payload, "aggregation_scope", _SCOPES) or "step",
        "slice_ref": _token(payload, "slice_ref", _DOT_OR_SNAKE),
    }


def _event(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": _token(payload, "event_key", _DOT_TOKEN, required=True),
        "level": _choice(payload, "level", _LEVELS, required=True),
        "message": _text(payload, "message", required=True),
        "attributes": _mapping(payload, "attributes"),
    }


def _degraded(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": _token(payload, "issue_key", _DOT_OR_SNAKE, required=True),
        "category": _choice(payload, "category", _CATEGORIES, required=True),
        "severity": _choice(payload, "severity", ("warning", "error"), required=True),
        "summary": _text(payload, "summary", required=True),
        "attributes": _mapping(payload, "attributes"),
    }


def _span(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": _text(payload, "span_name", required=True),
        "status": _choice(payload, "status", _SPAN_STATUSES, required=True),
    }


def _present(document: dict[str, Any], field: str, required: bool) -> Any:
    value = document.get(field)
    if value is None and required:
        raise RefusedRecord(f"{field} is missing")
    return value


def _text(document: dict[str, Any], field: str, *, required: bool = False) -> Any:
    value = _present(document, field, required)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise RefusedRecord(f"{field} is not a non-blank string")
    return value


def _token(document: dict[str, Any], field: str, pattern: re.Pattern[str], *, required: bool = False) -> Any:
    value = _text(document, field, required=required)
    if value is not None and pattern.fullmatch(value) is None:
        raise RefusedRecord(f"{field} {_quoted(value)} is not a valid token")
    return value


def _choice(document: dict[str, Any], field: str, allowed: tuple[str, ...], *, required: bool = False) -> Any:
    value = _present(document, field, required)
    if value is not None and value not in allowed:
        raise RefusedRecord(f"{field} {_quoted(value)} is not one of {', '.join(allowed)}")
    return value


def _mapping(document: dict[str, Any], field: str) -> dict[str, Any]:
    value = document.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RefusedRecord(f"{field} is not an object")
    return value


def _timestamp(document: dict[str, Any], field: str) -> str:
    value = _present(document, field, True)
    if not isinstance(value, str) or _ISO_Z.fullmatch(value) is None:
        raise RefusedRecord(f"{field} {_quoted(value)} is not an ISO-8601 UTC 'Z' timestamp")
    return value


def _ref(document: dict[str, Any], field: str, kind: str, *, required: bool = False) -> Any:
    value = _present(document, field, required)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 255:
        raise RefusedRecord(f"{field} is not a ref")
    prefix, _, rest = value.partition(":")
    components = rest.split(".")
    if (
        prefix != kind
        or len(components) not in _COMPONENTS[kind]
        or not all(len(part) <= 63 and _COMPONENT.fullmatch(part) for part in components)
    ):
        raise RefusedRecord(f"{field} {_quoted(value)} is not a valid {kind} ref")
    return value


def _same_prefix(ref: str, owner: str, components: int, field: str, owner_field: str) -> None:
    if ref.partition(":")[2].split(".")[:components] != owner.partition(":")[2].split(".")[:components]:
        raise RefusedRecord(f"{field} {ref!r} does not share the prefix of {owner_field} {owner!r}")
