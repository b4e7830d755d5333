"""Sequence semantics as Contexta has them: where append order and sequence numbers disagree about a run's records.

Contexta restarts sequences when ``records/manifest.json`` is re-created, so two lines of one run can share a
sequence or go backwards. Nothing is deduplicated away: a metric whose sequence does not rise over an earlier line
of the same metric with another value, or a ``record_ref`` repeated with other content, is ambiguous and becomes a
damaged line naming both places.
"""

from __future__ import annotations

from collections.abc import Sequence

from .records import DamagedLine, MetricRecord, Record
from .run_records import RunRecordList


def ambiguous_lines(records: RunRecordList, sequences: Sequence[int]) -> list[DamagedLine]:
    """Damaged lines for what Contexta's append order and the sequences (``records.sequences()``) disagree on,
    naming both places."""
    if all(map(int.__lt__, sequences, sequences[1:])) and records.refs_unique():
        return []  # rising sequences rise for every metric too, and no record_ref repeats
    problems: list[DamagedLine] = []
    newest: dict[tuple[str, str | None, str | None], MetricRecord] = {}
    by_ref: dict[str, int] = {}
    for position, record in enumerate(records):  # built one at a time: only the newest of each metric is kept
        reasons, others = [], []
        earlier_at = by_ref.setdefault(record.ref, position)
        earlier = records[earlier_at] if earlier_at != position else record
        if earlier is not record and _content(earlier) != _content(record):
            reasons.append(f"record_ref {record.ref} repeats {earlier.location} with other content")
            others.append(earlier)
        if isinstance(record, MetricRecord):
            slot = (record.key, record.stage_ref, record.slice_ref)
            previous = newest.get(slot)
            if previous is None or record.sequence > previous.sequence:
                newest[slot] = record
            elif (previous.value, previous.unit) != (record.value, record.unit):
                reasons.append(
                    f"sequence {record.sequence} does not follow sequence {previous.sequence} of the same metric at "
                    f"{previous.location} (sequences restarted: was records/manifest.json re-created?), so which "
                    f"value is the latest is ambiguous"
                )
                others.append(previous)
        if reasons:
            same_key = all(other.key == record.key for other in others)
            problems.append(
                DamagedLine(
                    location=record.location,
                    reason="; ".join(reasons),
                    run_ref=record.run_ref,
                    record_type=record.record_type,
                    key=record.key if same_key else None,
                    sequence=record.sequence,
                )
            )
    return problems


def _content(record: Record) -> tuple[object, ...]:
    return (
        record.record_type,
        record.key,
        record.observed_at,
        record.recorded_at,
        record.stage_ref,
        record.batch_ref,
        record.sample_ref,
        record.payload,
        record.completeness_marker,
        record.degradation_marker,
    )


def sequence_notes(records: RunRecordList, sequences: Sequence[int]) -> list[str]:
    """A note when the run's sequences (``records.sequences()``) do not rise in append order (another metric's
    value is not affected)."""
    for position, (before, after) in enumerate(zip(sequences, sequences[1:]), start=1):
        if after <= before:
            last, record = records[position - 1], records[position]
            return [
                f"sequence {record.sequence} at {record.location} does not follow sequence {last.sequence} at "
                f"{last.location}: sequences restarted or repeat (records/manifest.json re-created?)"
            ]
    return []
