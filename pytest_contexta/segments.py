"""Read one run's records from Contexta's JSONL segments without decoding the rest of the workspace.

``records/indexes/run_ref/run__<project>.<run>.jsonl`` lists the run's records as
``{"sequence", "segment_id", "offset"}``. Segment lines carry the same global ``sequence`` as their
last key and are appended in sequence order, so each record is found by a binary search over byte
positions (a few small reads, whatever the segment size) and verified against the index entry.

The index is trusted only when it is complete and consistent:

* *missing*: no ``indexes/run_ref`` or ``indexes/record_type`` folder, no index file for the run
  (also the case for a run without records, so the note is only given when the scan finds some),
  or an unreadable index line: every segment is scanned instead;
* *behind*: Contexta appends the segment line first and the index entries after it, so a crash
  in between leaves the newest records unindexed. The newest indexed sequence (last lines of
  ``indexes/record_type/*.jsonl``) is compared with the segment's tail, and newer tail lines are
  read directly;
* *stale*: an entry whose sequence is not found, or whose line belongs to another run (a
  hand-edited segment, a re-created manifest that reused sequences): every segment is scanned.

Each fallback is reported as a note on the run. An index entry whose record the scan does not find
either (a missing segment, a lost sequence) becomes a :class:`DamagedLine` of the run: its records
may be lost, so the run must not pass on what is left. Not detected: entries lost from the middle of a
run's index file while the newest entries survive (no crash does that; only a hand edit); ask
Contexta to ``rebuild_indexes()`` after editing records by hand.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from pydantic import ValidationError

from .models import (
    DamagedLine,
    DegradedRecord,
    EventRecord,
    MetricRecord,
    Record,
    RecordLocation,
    SpanRecord,
    first_problem,
)
from .refs import RunRef

_SEQUENCE_AT_END = re.compile(rb'"sequence":(\d+)\}\s*$')
_RUN_REF = re.compile(rb'"run_ref":"(run:[a-z0-9.-]+)"')
_RECORD_REF = re.compile(rb'"record_ref":"record:([a-z0-9-]+)\.([a-z0-9-]+)\.')
_RECORD_TYPE = re.compile(rb'"record_type":"([a-z_]+)"')
_METRIC_KEY = re.compile(rb'"metric_key":"([a-z0-9.-]+)"')
_TAIL_BLOCK = 64 * 1024
_MAX_TAIL = 8 * 1024 * 1024
_RECORD_CLASSES: dict[str, type[MetricRecord | EventRecord | DegradedRecord | SpanRecord]] = {
    "metric": MetricRecord, "event": EventRecord, "degraded": DegradedRecord, "span": SpanRecord,
}


class RunRecords(NamedTuple):
    """What the reader found for one run."""

    records: list[Record]
    damaged: list[DamagedLine]
    notes: list[str]


class _IndexEntry(NamedTuple):
    segment_id: int
    sequence: int
    offset: int


class _Taken(NamedTuple):
    """Which lines a scan took for a run: (segment, sequence) of each, and (segment, record number) of
    those whose sequence cannot be read (the record number is what index entries call ``offset``)."""

    sequences: set[tuple[str, int]]
    positions: set[tuple[str, int]]

    def holds(self, entry: _IndexEntry) -> bool:
        segment = segment_name(entry.segment_id)
        return (segment, entry.sequence) in self.sequences or (segment, entry.offset) in self.positions


class _StaleIndex(Exception):
    """The run_ref index cannot be trusted for this run; the message says why.

    ``entries`` are the readable entries of an index file that also has unreadable lines.
    """

    def __init__(self, reason: str, entries: list[_IndexEntry] | None = None) -> None:
        super().__init__(reason)
        self.entries = entries or []


class _NoIndexFile(_StaleIndex):
    """The run has no run_ref index file: it has no records, or the file was lost."""


def segment_name(segment_id: int) -> str:
    return f"segment-{segment_id:06d}.jsonl"


def _sequence_of(line: bytes) -> int | None:
    match = _SEQUENCE_AT_END.search(line)
    return int(match.group(1)) if match else None


def _attribute(line: bytes) -> tuple[str | None, str | None, str | None]:
    """Best guess of (run_ref, record_type, metric key) for a line that is not a valid record."""
    run = _RUN_REF.search(line)
    record = _RECORD_REF.search(line)
    run_ref = run.group(1).decode() if run else (
        f"run:{record.group(1).decode()}.{record.group(2).decode()}" if record else None
    )
    record_type = _RECORD_TYPE.search(line)
    key = _METRIC_KEY.search(line)
    return (
        run_ref,
        record_type.group(1).decode() if record_type else None,
        key.group(1).decode() if key else None,
    )


def parse_line(line: bytes, location: RecordLocation) -> Record | DamagedLine:
    """Turn one segment line into a record, or a :class:`DamagedLine` that says what is wrong with it."""
    try:
        document = json.loads(line)
    except (ValueError, RecursionError):
        return _damaged(line, location, "not valid JSON (truncated or corrupted line)")
    try:
        envelope, payload = document["record"]["envelope"], document["record"]["payload"]
        record_type = envelope["record_type"]
        record_class = _RECORD_CLASSES.get(record_type)
        if record_class is None:
            return _damaged(line, location, f"unknown record_type {record_type!r}")
        fields = _common_fields(document, envelope, payload, location) | _payload_fields(record_type, payload)
        return record_class(**fields)
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        return _damaged(line, location, f"not a valid Contexta record ({first_problem(exc)})")


def _damaged(line: bytes, location: RecordLocation, reason: str) -> DamagedLine:
    run_ref, record_type, key = _attribute(line)
    return DamagedLine(location=location, reason=reason, run_ref=run_ref, record_type=record_type, key=key)


def _common_fields(document: dict[str, Any], envelope: dict[str, Any], payload: dict[str, Any],
                   location: RecordLocation) -> dict[str, Any]:
    return {
        "ref": envelope["record_ref"],
        "run_ref": envelope["run_ref"],
        "sequence": document["sequence"],
        "observed_at": envelope["observed_at"],
        "recorded_at": envelope["recorded_at"],
        "producer_ref": envelope["producer_ref"],
        "stage_ref": envelope.get("stage_execution_ref"),
        "batch_ref": envelope.get("batch_execution_ref"),
        "sample_ref": envelope.get("sample_observation_ref"),
        "deployment_ref": envelope.get("deployment_execution_ref"),
        "completeness_marker": envelope.get("completeness_marker", "complete"),
        "degradation_marker": envelope.get("degradation_marker", "none"),
        "payload": payload,
        "location": location,
    }


def _payload_fields(record_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    if record_type == "metric":
        value = payload["value"]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"metric value {value!r} is not a number")
        return {"key": payload["metric_key"], "value": value, "value_type": payload["value_type"],
                "unit": payload.get("unit"), "aggregation_scope": payload.get("aggregation_scope", "step"),
                "slice_ref": payload.get("slice_ref"), "tags": payload.get("tags", {})}
    if record_type == "event":
        return {"key": payload["event_key"], "level": payload["level"], "message": payload["message"],
                "attributes": payload.get("attributes", {})}
    if record_type == "degraded":
        return {"key": payload["issue_key"], "category": payload["category"], "severity": payload["severity"],
                "summary": payload["summary"], "attributes": payload.get("attributes", {})}
    return {"key": payload["span_name"], "status": payload["status"]}


class _Segment:
    """One open segment file, searched by sequence."""

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self._handle = handle
        self._size = size
        self._next_start = 0

    def _line_from(self, position: int) -> tuple[int, bytes]:
        """The first line starting at or after ``position`` whose sequence can be read (or EOF)."""
        handle = self._handle
        handle.seek(max(position - 1, 0))
        if position > 0:
            handle.readline()
        while True:
            start = handle.tell()
            line = handle.readline()
            if not line or _sequence_of(line) is not None:
                return start, line

    def find(self, sequence: int) -> tuple[int, bytes] | None:
        """The byte position and text of the line holding ``sequence``, or None."""
        start, line = self._line_from(self._next_start)
        if line and _sequence_of(line) == sequence:
            self._next_start = start + len(line)
            return start, line
        low, high = 0, self._size
        while low < high:
            middle = (low + high) // 2
            _, probe = self._line_from(middle)
            probe_sequence = _sequence_of(probe) if probe else None
            if probe_sequence is None or probe_sequence >= sequence:
                high = middle
            else:
                low = middle + 1
        start, line = self._line_from(low)
        if not line or _sequence_of(line) != sequence:
            return None
        self._next_start = start + len(line)
        return start, line


class RecordReader:
    """Reads the records of single runs from ``<workspace>/records``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # Facts about the whole workspace, read once for every run loaded through this reader.
        self._last_indexed: int | None = None
        self._tail: list[Record | DamagedLine] | None = None
        self._tail_problem: str | None = None

    @property
    def _segments_dir(self) -> Path:
        return self.root / "segments"

    def read_run(self, run: RunRef) -> RunRecords:
        """Every record of ``run`` in append order, damaged lines that belong to it, and reader notes."""
        entries: list[_IndexEntry] = []
        try:
            entries = self._index_entries(run)
            return self._read_indexed(run, entries, self._last_indexed_sequence())
        except _StaleIndex as stale:
            records, damaged, taken = self._scan(run)
            if isinstance(stale, _NoIndexFile) and not records and not damaged:
                return RunRecords([], [], [])  # a run without records has no index file
            damaged += _lost_records(run, entries + stale.entries, taken)
            return RunRecords(records, damaged, [f"{stale}; read every segment instead"])

    def _index_entries(self, run: RunRef) -> list[_IndexEntry]:
        family = self.root / "indexes" / "run_ref"
        if not family.is_dir():
            raise _StaleIndex("the run_ref index folder records/indexes/run_ref is missing")
        path = family / f"run__{run.value}.jsonl"
        if not path.exists():
            raise _NoIndexFile(f"records/indexes/run_ref/{path.name} is missing")
        entries = []
        unreadable = None
        for number, line in enumerate(path.read_bytes().splitlines(), start=1):
            try:
                pointer = json.loads(line)
                entries.append(
                    _IndexEntry(int(pointer["segment_id"]), int(pointer["sequence"]), int(pointer["offset"])))
            except (ValueError, KeyError, TypeError, OverflowError, RecursionError):
                unreadable = unreadable or number
        if unreadable is not None:
            raise _StaleIndex(f"records/indexes/run_ref/{path.name} line {unreadable} is unreadable", entries)
        return sorted(set(entries))

    def _last_indexed_sequence(self) -> int:
        """The newest sequence in the record_type index, read once per reader."""
        if self._last_indexed is None:
            self._last_indexed = self._read_last_indexed_sequence()
        return self._last_indexed

    def _read_last_indexed_sequence(self) -> int:
        family = self.root / "indexes" / "record_type"
        if not family.is_dir():
            raise _StaleIndex("the record_type index folder records/indexes/record_type is missing")
        last = 0
        for path in family.glob("*.jsonl"):
            for line in reversed(_tail(path).splitlines()):
                try:
                    last = max(last, int(json.loads(line)["sequence"]))
                    break
                except (ValueError, KeyError, TypeError, OverflowError, RecursionError):
                    continue
        return last

    def _read_indexed(self, run: RunRef, entries: list[_IndexEntry], last_indexed: int) -> RunRecords:
        records: list[Record] = []
        damaged: list[DamagedLine] = []
        notes: list[str] = []
        for segment_id in sorted({entry.segment_id for entry in entries}):
            path = self._segments_dir / segment_name(segment_id)
            if not path.is_file():
                raise _StaleIndex(f"the run_ref index points at missing records/segments/{path.name}")
            with path.open("rb") as handle:
                segment = _Segment(handle, path.stat().st_size)
                for entry in (e for e in entries if e.segment_id == segment_id):
                    found = segment.find(entry.sequence)
                    if found is None:
                        raise _StaleIndex(f"the run_ref index names sequence {entry.sequence}, "
                                          f"which records/segments/{path.name} does not hold")
                    start, line = found
                    location = RecordLocation(segment=path.name, line=entry.offset, byte_offset=start)
                    item = _with_line_number(parse_line(line, location), path)
                    owner = item.run_ref if item.run_ref is not None else run.text
                    if owner != run.text:
                        raise _StaleIndex(f"the run_ref index points at {location}, which belongs to {owner}")
                    _collect(item, records, damaged)
        tail = self._tail_items(last_indexed)
        mine = 0
        for item in tail:
            if item.run_ref in (run.text, None):
                mine += 1
                _collect(item, records, damaged)
        if tail:
            notes.append(f"{len(tail)} record line(s) after sequence {last_indexed} are not indexed yet "
                         f"(interrupted write?); read them from the segment tail, {mine} for this run")
        records.sort(key=lambda record: (record.location.segment, record.sequence))
        return RunRecords(_unique(records), damaged, notes)

    def _tail_items(self, last_indexed: int) -> list[Record | DamagedLine]:
        """The unindexed tail lines of the workspace, parsed; read once per reader (or the reason they cannot be)."""
        if self._tail_problem is not None:
            raise _StaleIndex(self._tail_problem)
        if self._tail is None:
            try:
                self._tail = [_with_line_number(parse_line(line, location), self._segments_dir / location.segment)
                              for location, line in self._unindexed_tail(last_indexed)]
            except _StaleIndex as stale:
                self._tail_problem = str(stale)
                raise
        return self._tail

    def _unindexed_tail(self, last_indexed: int) -> Iterator[tuple[RecordLocation, bytes]]:
        """Lines at the end of the newest segment whose sequence is above ``last_indexed``."""
        segments = sorted(self._segments_dir.glob("segment-*.jsonl"))
        if not segments:
            return
        path = segments[-1]
        size = path.stat().st_size
        with path.open("rb") as handle:
            block = _TAIL_BLOCK
            while True:
                start = max(size - block, 0)
                handle.seek(start)
                lines = handle.read(size - start).splitlines(keepends=True)
                if start > 0:
                    start += len(lines[0])
                    lines = lines[1:]
                stop = next((i for i in range(len(lines) - 1, -1, -1)
                             if (s := _sequence_of(lines[i])) is not None and s <= last_indexed), None)
                if stop is not None or start == 0:
                    break
                if block >= _MAX_TAIL:
                    raise _StaleIndex(f"the index is more than {_MAX_TAIL // 2**20} MiB behind {path.name}")
                block *= 4
            first = 0 if stop is None else stop + 1
            offset = start + sum(len(line) for line in lines[:first])
            for line in lines[first:]:
                if line.strip():
                    yield RecordLocation(segment=path.name, byte_offset=offset), line
                offset += len(line)

    def _scan(self, run: RunRef) -> tuple[list[Record], list[DamagedLine], _Taken]:
        """Read every segment, decoding only the lines that mention the run or that cannot be attributed.

        Also tells which lines were taken for the run, damaged ones included.
        """
        records: list[Record] = []
        damaged: list[DamagedLine] = []
        taken = _Taken(set(), set())
        needles = (f'"run_ref":"{run.text}"'.encode(), f'"record_ref":"record:{run.value}.'.encode())
        for path in sorted(self._segments_dir.glob("segment-*.jsonl")):
            with path.open("rb") as handle:
                offset = 0
                record_number = 0
                for number, line in enumerate(handle, start=1):
                    record_number += 1 if line.strip() else 0
                    mine = needles[0] in line or needles[1] in line
                    if mine or (line.strip() and b'"run_ref":"' not in line):
                        location = RecordLocation(segment=path.name, line=number, byte_offset=offset)
                        item = parse_line(line, location)
                        if item.run_ref in (run.text, None):
                            _collect(item, records, damaged)
                            sequence = _sequence_of(line)
                            if sequence is not None:
                                taken.sequences.add((path.name, sequence))
                            else:
                                taken.positions.add((path.name, record_number))
                    offset += len(line)
        return _unique(records), damaged, taken


def _lost_records(run: RunRef, entries: list[_IndexEntry], taken: _Taken) -> list[DamagedLine]:
    """A damaged line for each index entry whose record the scan did not find: it could hold any metric."""
    return [
        DamagedLine(
            location=RecordLocation(segment=segment_name(entry.segment_id), line=entry.offset),
            reason=(f"listed in the run_ref index (sequence {entry.sequence}) but missing from the segment: "
                    f"records lost? Restore the segments from a backup, or let Contexta rebuild_indexes() if "
                    f"the index is what is wrong"),
            run_ref=run.text,
        )
        for entry in sorted(set(entries))
        if not taken.holds(entry)
    ]


def _with_line_number(item: Record | DamagedLine, path: Path) -> Record | DamagedLine:
    """Give a damaged line found by byte position its real line number (index offsets count records, not lines)."""
    if not isinstance(item, DamagedLine) or item.location.byte_offset is None:
        return item
    newlines, remaining = 0, item.location.byte_offset
    with path.open("rb") as handle:
        while remaining > 0:
            block = handle.read(min(remaining, _TAIL_BLOCK))
            if not block:
                break
            newlines += block.count(b"\n")
            remaining -= len(block)
    return item.model_copy(update={"location": item.location.model_copy(update={"line": newlines + 1})})


def _collect(item: Record | DamagedLine, records: list[Record], damaged: list[DamagedLine]) -> None:
    if isinstance(item, DamagedLine):
        damaged.append(item)
    else:
        records.append(item)


def _unique(records: list[Record]) -> list[Record]:
    seen: set[tuple[str, int]] = set()
    unique = []
    for record in records:
        key = (record.location.segment, record.sequence)
        if key not in seen:
            seen.add(key)
            unique.append(record)
    return unique


def _tail(path: Path, size: int = 4096) -> bytes:
    with path.open("rb") as handle:
        handle.seek(0, 2)
        length = handle.tell()
        handle.seek(max(length - size, 0))
        return handle.read()
