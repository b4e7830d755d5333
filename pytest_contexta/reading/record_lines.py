"""Decode one segment line into a record, with the rules Contexta's ``RecordStore.append`` enforces.

A line Contexta would refuse to write (or could not read back) is a :class:`DamagedLine`, never a record:
wrong ref shapes or prefixes, timestamps that are not ISO-8601 ``Z`` or run backwards, unknown markers, a
degraded record whose ``degradation_marker`` is ``none``, a non-finite metric value, invalid keys. Lines are
length-bounded and too deep JSON nesting is caught, so no line costs more than its size or raises.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..text import printable
from .record_fields import (
    COMPONENT,
    DOT_TOKEN,
    RefusedRecord,
    choice_field,
    quoted,
    ref_field,
    remembered,
    same_prefix,
    timestamp_field,
    token_field,
)
from .record_payloads import degraded, event, metric, span
from .records import DamagedLine, DegradedRecord, EventRecord, MetricRecord, Record, RecordLocation, SpanRecord, trusted

#: Longer lines are damaged without being decoded (Contexta's records are a few hundred bytes).
MAX_LINE_BYTES = 16 * 2**20

_RUN_REF = re.compile(rb'"run_ref":"(run:[a-z0-9.-]+)"')
_RECORD_REF = re.compile(rb'"record_ref":"record:([a-z0-9-]+)\.([a-z0-9-]+)\.')
_RECORD_TYPE = re.compile(rb'"record_type":"([a-z_]+)"')
_SEQUENCE_AT_END = re.compile(rb'"sequence":(\d{1,18})\}\s*$')
_KEY = re.compile(rb'"(?:metric_key|event_key|issue_key|span_name)":"([a-z0-9._-]+)"')

_COMPLETENESS = ("complete", "partial", "sampled", "absent", "unknown")
_DEGRADATION = ("none", "partial_failure", "capture_gap", "import_loss", "compatibility_upgrade")


def parse_line(line: bytes, location: RecordLocation) -> Record | DamagedLine:
    """Turn one segment line into a record, or a :class:`DamagedLine` that says what is wrong with it."""
    if len(line) > MAX_LINE_BYTES:
        return damaged(line[:4096], location, f"longer than {MAX_LINE_BYTES // 2**20} MiB")
    try:
        text = line.decode("utf-8")  # Contexta reads UTF-8 only
        document = json.loads(text)
    except RecursionError:
        return damaged(line, location, "JSON nested too deeply")
    except ValueError:
        return damaged(line, location, "not valid JSON (truncated or corrupted line)")
    repeated = _repeated_key(line, text)
    if repeated is not None:
        return damaged(
            line,
            location,
            f"the key {quoted(repeated)} is given twice in one object: readers differ on which one counts "
            f"(Python keeps the last, others the first), so Contexta never writes that; rewrite the line",
            anyone=repeated == "run_ref",
        )
    try:
        return _record(document, location)
    except (RefusedRecord, KeyError, TypeError, AttributeError, OverflowError) as exc:
        return damaged(line, location, f"not a record Contexta would accept ({_problem(exc)})", owner=_owner(document))


def _owner(document: Any) -> str | None:
    """The envelope's run_ref of a decoded line, when it is a string: the line's run as JSON reads it."""
    try:
        owner = document["record"]["envelope"]["run_ref"]
    except (KeyError, TypeError, IndexError):
        return None
    return owner if isinstance(owner, str) else None


def damaged(
    line: bytes, location: RecordLocation, reason: str, anyone: bool = False, owner: str | None = None
) -> DamagedLine:
    """A damaged line, with the run, record type and key that can still be read from its bytes; of the run
    ``owner`` (the envelope's run_ref as JSON reads it) when given, of no run (counted against every run read)
    when ``anyone``."""
    run = None if anyone or owner is not None else _RUN_REF.search(line)
    record = _RECORD_REF.search(line)
    run_ref = owner or (
        run.group(1).decode()
        if run
        else (f"run:{record.group(1).decode()}.{record.group(2).decode()}" if record and not anyone else None)
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


#: Keys that say whose record a line is and what it holds. One given twice in one object reads differently in
#: different readers (``json.loads`` keeps the last): such a line is damaged, and of every run when it is run_ref.
_DECIDING_KEYS = frozenset(
    ("record", "envelope", "payload", "run_ref", "record_ref", "record_type", "stage_execution_ref", "sequence")
)
_DECIDING_NEEDLES = tuple(f'"{key}"'.encode() for key in sorted(_DECIDING_KEYS))


class _RepeatedKey(Exception):
    pass


def _repeated_key(line: bytes, text: str) -> str | None:
    """A deciding key given twice in one object of ``line``, if any. Without a backslash a key is spelled as it
    reads, so only a line with a backslash or a deciding key's bytes twice is decoded again to look."""
    if b"\\" not in line and all(line.count(needle) < 2 for needle in _DECIDING_NEEDLES):
        return None
    try:
        json.loads(text, object_pairs_hook=_without_repeats)
    except _RepeatedKey as repeated:
        return str(repeated.args[0])
    return None


def _without_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen and key in _DECIDING_KEYS:
            raise _RepeatedKey(key)
        seen.add(key)
    return dict(pairs)


def _problem(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {quoted(exc.args[0])}"
    if isinstance(exc, RefusedRecord):
        return printable(str(exc))
    if isinstance(exc, OverflowError):
        return "a number is out of range"
    return "a field has the wrong JSON type"


def _record(document: dict[str, Any], location: RecordLocation) -> Record:
    record, sequence = document["record"], document["sequence"]
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
        raise RefusedRecord(f"sequence {quoted(sequence)} is not a positive integer")
    envelope, payload = record["envelope"], record["payload"]
    if not isinstance(payload, dict):
        raise RefusedRecord("payload is not an object")
    fields = _envelope(envelope)
    fields.update(sequence=sequence, payload=payload, location=location)
    record_type = fields["record_type"]
    if record_type == "metric":
        metric(payload, fields)
        return trusted(MetricRecord, fields)
    if record_type == "event":
        fields.update(event(payload))
        return trusted(EventRecord, fields)
    if record_type == "degraded":
        if fields["degradation_marker"] == "none":
            raise RefusedRecord("a degraded record must carry a degradation_marker other than 'none'")
        fields.update(degraded(payload))
        return trusted(DegradedRecord, fields)
    fields.update(span(payload))
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
_contexts: dict[tuple[Any, ...], tuple[str, dict[str, Any]]] = {}  # -> (record_ref prefix, fields)


def _envelope(envelope: dict[str, Any]) -> dict[str, Any]:
    prefix, shared = remembered(_contexts, tuple(map(envelope.get, _CONTEXT_FIELDS)), lambda: _context(envelope))
    record_ref = envelope.get("record_ref")
    token = record_ref[len(prefix) :] if isinstance(record_ref, str) else ""
    if not (
        isinstance(record_ref, str)
        and record_ref.startswith(prefix)
        and len(record_ref) <= 255
        and len(token) <= 63
        and COMPONENT.fullmatch(token)
    ):
        same_prefix(
            ref_field(envelope, "record_ref", "record", required=True), shared["run_ref"], 2, "record_ref", "run_ref"
        )
    observed_at = timestamp_field(envelope, "observed_at")
    if envelope.get("recorded_at") == observed_at:
        recorded_at = observed_at  # valid as observed_at is, and one string object for both (memory per record)
    else:
        recorded_at = timestamp_field(envelope, "recorded_at")
        if recorded_at < observed_at:
            raise RefusedRecord("recorded_at is earlier than observed_at")
    fields = shared.copy()
    fields.update(ref=record_ref, observed_at=observed_at, recorded_at=recorded_at)
    return fields


def _context(envelope: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The envelope's repeated fields, validated as Contexta's RecordEnvelope does."""
    run_ref = ref_field(envelope, "run_ref", "run", required=True)
    stage_ref, batch_ref, sample_ref = _scope_refs(envelope, run_ref)
    record_type = choice_field(envelope, "record_type", ("metric", "event", "degraded", "span"), required=True)
    completeness = choice_field(envelope, "completeness_marker", _COMPLETENESS) or "complete"
    if completeness == "absent" and record_type != "degraded":
        raise RefusedRecord(f"a {record_type} record cannot use completeness_marker 'absent'")
    schema_version = envelope.get("schema_version", "1.0.0")
    if not isinstance(schema_version, str) or not schema_version.strip():
        raise RefusedRecord("schema_version is not a non-blank string")
    return f"record:{run_ref.partition(':')[2]}.", {
        "record_type": record_type,
        "run_ref": run_ref,
        "producer_ref": token_field(envelope, "producer_ref", DOT_TOKEN, required=True),
        "stage_ref": stage_ref,
        "batch_ref": batch_ref,
        "sample_ref": sample_ref,
        "deployment_ref": ref_field(envelope, "deployment_execution_ref", "deployment"),
        "completeness_marker": completeness,
        "degradation_marker": choice_field(envelope, "degradation_marker", _DEGRADATION) or "none",
    }


def _scope_refs(envelope: dict[str, Any], run_ref: str) -> tuple[Any, Any, Any]:
    """The stage, batch and sample refs, each (and the operation ref) within the run, stage or batch it names."""
    stage_ref = ref_field(envelope, "stage_execution_ref", "stage")
    batch_ref = ref_field(envelope, "batch_execution_ref", "batch")
    sample_ref = ref_field(envelope, "sample_observation_ref", "sample")
    operation_ref = ref_field(envelope, "operation_context_ref", "op")
    if stage_ref is not None:
        same_prefix(stage_ref, run_ref, 2, "stage_execution_ref", "run_ref")
    if (batch_ref or sample_ref or operation_ref) is not None and stage_ref is None:
        raise RefusedRecord("batch, sample and operation refs require stage_execution_ref")
    if batch_ref is not None:
        same_prefix(batch_ref, stage_ref, 3, "batch_execution_ref", "stage_execution_ref")
    owner = batch_ref or stage_ref
    for name, ref in (("sample_observation_ref", sample_ref), ("operation_context_ref", operation_ref)):
        if ref is not None:
            same_prefix(ref, owner, owner.count(".") + 1, name, "its stage or batch")
    return stage_ref, batch_ref, sample_ref
