"""Find every record of one run in Contexta's JSONL segments, without trusting Contexta's indexes.

Contexta writes each segment line as canonical compact JSON, so every line of a run holds the exact bytes
``"run_ref":"run:<project>.<name>"``. Every ``segment-*.jsonl`` (whatever its number, in name order as Contexta
reads them) is read in pieces of whole lines (bounded memory) and searched for those bytes; each line found
is decoded and kept only if its envelope really names the run. Lines that hold no canonical ``run_ref``
field at all (garbage, truncated or hand-edited lines) cannot be attributed by bytes: they are decoded once
per reader, and those that do not decode to another run's record count against every run read.

The ``run_ref`` index is a cross-check only: an entry the segments do not hold is a lost record of the run
(a :class:`DamagedLine`); records the index lacks are read anyway and noted. Within the run, records keep
Contexta's append order; a metric whose sequence does not increase over an earlier line of the same metric,
or a ``record_ref`` repeated with other content, is ambiguous and becomes a damaged line naming both places.
"""

from __future__ import annotations

import gc
import os
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from .errors import WorkspaceError
from .files import open_regular, read_regular, regular_file_exists, unreadable
from .models import DamagedLine, MetricRecord, Record, RecordLocation, trusted
from .record_lines import MAX_LINE_BYTES, damaged, parse_line
from .refs import RunRef
from .text import printable

_ANY_RUN_REF = b'"run_ref":"run:'
_RUN_REF_KEY = b'"run_ref"'
_SEGMENT_NAME = re.compile(r"segment-\d+\.jsonl")
_INDEX_ENTRY = re.compile(rb'\{"offset":(\d+),"segment_id":(\d+),"sequence":(\d+)\}')
_CHUNK = 8 * 2**20
_MAX_INDEX_BYTES = 512 * 2**20
_FREEZE_AT = 10_000


class RunRecords(NamedTuple):
    """What the reader found for one run."""

    records: list[Record]
    damaged: list[DamagedLine]
    notes: list[str]


def _location(segment: str, line: int, byte_offset: int) -> RecordLocation:
    return trusted(RecordLocation, {"segment": segment, "line": line, "byte_offset": byte_offset})


def segment_name(segment_id: int) -> str:
    return f"segment-{segment_id:06d}.jsonl"


class _Piece(NamedTuple):
    """Whole lines of a segment: ``data`` starts at byte ``start`` and line ``line`` (1-based); for one line
    too long to hold, ``data`` is its first bytes and ``end`` where it ends."""

    start: int
    line: int
    data: bytes
    end: int
    whole: bool
    newlines: int = 0


class _Segment:
    """One segment, read in pieces of whole lines of about _CHUNK bytes: memory stays bounded whatever its size."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.name

    def size(self) -> int:
        try:
            return os.stat(self.path).st_size
        except OSError as exc:
            raise unreadable(self.path, exc) from exc

    def pieces(self) -> Iterator[_Piece]:
        descriptor, size = open_regular(self.path)
        try:
            position, line = 0, 1
            while position < size:
                block = self._read(descriptor, position, _CHUNK)
                if not block:
                    return  # the file shrank while being read
                cut = block.rfind(b"\n") + 1
                if cut == 0 and position + len(block) < size:  # a line longer than a chunk starts here
                    end = self._line_end(descriptor, position + len(block), size)
                    if end - position > MAX_LINE_BYTES:
                        yield _Piece(position, line, block[:4096], end, False)
                        position, line = end, line + 1
                        continue
                    block, cut = self._read(descriptor, position, end - position), end - position
                data = block[:cut] if cut else block
                newlines = data.count(b"\n")
                yield _Piece(position, line, data, position + len(data), True, newlines)
                position, line = position + len(data), line + newlines
        finally:
            os.close(descriptor)

    def _read(self, descriptor: int, position: int, length: int) -> bytes:
        try:
            return os.pread(descriptor, length, position)
        except OSError as exc:
            raise unreadable(self.path, exc) from exc

    def _line_end(self, descriptor: int, position: int, size: int) -> int:
        """Where the line that goes on at ``position`` ends (after its newline, or at the end of the file)."""
        while position < size:
            block = self._read(descriptor, position, _CHUNK)
            if not block:
                break
            newline = block.find(b"\n")
            if newline >= 0:
                return position + newline + 1
            position += len(block)
        return size


def _lines_with(piece: _Piece, needle: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(byte offset, line number, text) of each line of ``piece`` that holds ``needle``."""
    data, line, counted = piece.data, piece.line, 0
    hit = data.find(needle)
    while hit >= 0:
        start = data.rfind(b"\n", 0, hit) + 1
        end = data.find(b"\n", hit)
        end = len(data) if end < 0 else end
        line += data.count(b"\n", counted, start)
        counted = start
        yield piece.start + start, line, data[start:end]
        hit = data.find(needle, end)


def _unattributed(piece: _Piece) -> Iterator[tuple[int, int, bytes]]:
    """(byte offset, line number, text) of each non-blank line of ``piece`` without a canonical run_ref field.

    Counted in C first: when the piece holds no blank line and no ``\\u`` escape (the only other way to spell
    a key), and as many lines as ``"run_ref"`` keys as canonical ``"run_ref":"run:`` fields, every line holds
    exactly one, so there is nothing to look at line by line.
    """
    data = piece.data
    count = piece.newlines + (not data.endswith(b"\n"))
    if (b"\\u" not in data and b"\n\n" not in data and not data.startswith(b"\n")
            and data.count(_ANY_RUN_REF) == count == data.count(_RUN_REF_KEY)):
        return
    lines = piece.data.split(b"\n")
    if not any(_ANY_RUN_REF not in line and line.strip() for line in lines):
        return
    at = piece.start
    for number, line in enumerate(lines, start=piece.line):
        if _ANY_RUN_REF not in line and line.strip():
            yield at, number, line
        at += len(line) + 1


class RecordReader:
    """Reads the records of single runs from ``<workspace>/records``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        #: Per segment (name, size): the lines no byte search can attribute, decoded once per reader.
        self._unattributed: dict[tuple[str, int], list[Record | DamagedLine]] = {}

    @property
    def _segments_dir(self) -> Path:
        return self.root / "segments"

    def segment_names(self) -> list[str]:
        """Every ``segment-*.jsonl`` in name order, as Contexta reads them; an unlistable folder is an error."""
        folder = self._segments_dir
        try:
            names = sorted(entry.name for entry in os.scandir(folder) if _SEGMENT_NAME.fullmatch(entry.name))
        except FileNotFoundError as exc:
            raise WorkspaceError(f"{printable(str(folder))} is missing: Contexta creates it with the record store, "
                                 f"so the workspace was copied only in part; copy the whole workspace again") from exc
        except OSError as exc:
            raise unreadable(folder, exc) from exc
        return names

    def read_run(self, run: RunRef) -> RunRecords:
        """Every record of ``run`` in append order, damaged lines that may belong to it, and reader notes.

        The cyclic garbage collector is paused meanwhile: a run can hold a million records, none of them in a
        cycle, and every collection while they are built would walk all of them again. A large run is then moved
        out of the collector's sight (``gc.freeze()``); records are freed by reference counting all the same.
        """
        collecting = gc.isenabled()
        gc.disable()
        try:
            found = self._read_run(run)
        finally:
            if collecting:
                gc.enable()
        if len(found.records) >= _FREEZE_AT:
            gc.freeze()  # later collections (pytest runs two at exit) skip what exists now: these records too
        return found

    def _read_run(self, run: RunRef) -> RunRecords:
        needle = f'"run_ref":"{run.text}"'.encode()
        items: list[Record | DamagedLine] = []
        for name in self.segment_names():
            segment = _Segment(self._segments_dir / name)
            key = (name, segment.size())
            known = self._unattributed.get(key)
            found: list[Record | DamagedLine] = []
            for piece in segment.pieces():
                if not piece.whole:  # its run is guessed from its first bytes, once per session
                    if known is None:
                        found.append(damaged(piece.data, _location(name, piece.line, piece.start),
                                             f"longer than {MAX_LINE_BYTES // 2**20} MiB"))
                    continue
                for start, line, text in _lines_with(piece, needle):
                    item = parse_line(text, _location(name, line, start))
                    if item.run_ref == run.text:
                        items.append(item)
                if known is None:
                    found += [parse_line(text, _location(name, line, start))
                              for start, line, text in _unattributed(piece)]
            if known is None:
                known = self._unattributed[key] = found
            items += [item for item in known if item.run_ref in (run.text, None)]
        unique = {(item.location.segment, item.location.byte_offset or 0): item for item in items}
        items = [unique[place] for place in sorted(unique)]  # an over-long line can be found both ways
        records = [item for item in items if not isinstance(item, DamagedLine)]
        found_damaged = [item for item in items if isinstance(item, DamagedLine)]
        found_damaged += _ambiguous(records)
        lost, notes = self._cross_check(run, items)
        return RunRecords(records, found_damaged + lost, notes + _sequence_notes(records))

    def _cross_check(self, run: RunRef, items: list[Record | DamagedLine]) -> tuple[list[DamagedLine], list[str]]:
        """Index entries the segments do not hold (lost records), and a note on records the index lacks."""
        family = self.root / "indexes" / "run_ref"
        path = family / f"run__{run.value}.jsonl"
        if not family.is_dir():
            return [], ["records/indexes/run_ref is missing (indexes disabled?); nothing to cross-check, every "
                        "segment was read"] if items else []
        if not regular_file_exists(path):
            return [], [f"records/indexes/run_ref/{path.name} is missing; every segment was read"] if items else []
        data = read_regular(path, _MAX_INDEX_BYTES)
        entries = Counter((segment_name(int(segment)), int(sequence), int(offset))
                          for offset, segment, sequence in _INDEX_ENTRY.findall(data))
        notes = []
        if sum(entries.values()) != sum(1 for line in data.splitlines() if line.strip()):
            notes.append(f"records/indexes/run_ref/{path.name} has unreadable lines; the segments were read in full")
        held = Counter((item.location.segment, item.sequence) for item in items if not isinstance(item, DamagedLine))
        held.update((item.location.segment, sequence) for item in items
                    if isinstance(item, DamagedLine) and (sequence := item.sequence) is not None)
        unsequenced = {(item.location.segment, item.location.line) for item in items
                       if isinstance(item, DamagedLine) and item.sequence is None}
        lost = []
        for (segment, sequence, offset), count in sorted(entries.items()):
            missing = count - held[segment, sequence]
            held[segment, sequence] = max(0, -missing)
            if missing > 0 and (segment, offset) in unsequenced:  # a damaged line at the entry's place lost its
                unsequenced.discard((segment, offset))              # sequence: it already stands for the record
                missing -= 1
            if missing > 0:
                lost += [DamagedLine(
                    location=RecordLocation(segment=segment, line=offset), run_ref=run.text, sequence=sequence,
                    reason=(f"listed in the run_ref index (sequence {sequence}) but missing from the segment: "
                            f"records lost? Restore the segments from a backup, or let Contexta rebuild_indexes() "
                            f"if the index is what is wrong"))] * missing
        unindexed = sum(held.values())
        if unindexed:
            notes.append(f"{unindexed} record line(s) of this run are not in records/indexes/run_ref (written with "
                         f"indexes disabled, or an interrupted write); read from the segments")
        return lost, notes


def _ambiguous(records: list[Record]) -> list[DamagedLine]:
    """Damaged lines for what Contexta's append order and the sequences disagree on, naming both places."""
    problems: list[DamagedLine] = []
    newest: dict[tuple[str, str | None, str | None], MetricRecord] = {}
    by_ref: dict[str, Record] = {}
    for record in records:
        reasons, others = [], []
        earlier = by_ref.setdefault(record.ref, record)
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
                    f"value is the latest is ambiguous")
                others.append(previous)
        if reasons:
            same_key = all(other.key == record.key for other in others)
            problems.append(DamagedLine(location=record.location, reason="; ".join(reasons), run_ref=record.run_ref,
                                        record_type=record.record_type, key=record.key if same_key else None,
                                        sequence=record.sequence))
    return problems


def _content(record: Record) -> tuple[object, ...]:
    return (record.record_type, record.key, record.observed_at, record.recorded_at, record.stage_ref,
            record.batch_ref, record.sample_ref, record.payload, record.completeness_marker,
            record.degradation_marker)


def _sequence_notes(records: list[Record]) -> list[str]:
    """A note when the run's sequences do not rise in append order (another metric's value is not affected)."""
    last = None
    for record in records:
        if last is not None and record.sequence <= last.sequence:
            return [f"sequence {record.sequence} at {record.location} does not follow sequence {last.sequence} at "
                    f"{last.location}: sequences restarted or repeat (records/manifest.json re-created?)"]
        last = record
    return []
