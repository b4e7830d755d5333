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
from operator import attrgetter
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
_SEQUENCE, _REF = attrgetter("sequence"), attrgetter("ref")
_SEGMENT_AND_SEQUENCE = attrgetter("location.segment", "sequence")


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
    """Whole lines of a segment: ``data[:size]`` starts at byte ``start`` and line ``line`` (1-based); for one line
    too long to hold, ``data[:size]`` is its first bytes and ``end`` where it ends. ``data`` is a buffer the next
    piece reuses: use it before asking for the next piece."""

    start: int
    line: int
    data: bytearray
    size: int
    end: int
    whole: bool
    newlines: int = 0

    def text(self, start: int, end: int) -> bytes:
        return bytes(self.data[start:end])


class _Segment:
    """One segment, read in pieces of whole lines of about _CHUNK bytes into one reused buffer: memory stays
    bounded whatever its size, and no piece is allocated or copied twice."""

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
        buffer = bytearray(min(_CHUNK, size))
        try:
            position, line = 0, 1
            while position < size:
                length = self._read_into(descriptor, buffer, position)
                if not length:
                    return  # the file shrank while being read
                cut = buffer.rfind(b"\n", 0, length) + 1
                if cut == 0 and position + length < size:  # a line longer than a chunk starts here
                    end = self._line_end(descriptor, position + length, size)
                    if end - position > MAX_LINE_BYTES:
                        yield _Piece(position, line, buffer, min(length, 4096), end, False)
                        position, line = end, line + 1
                        continue
                    long_line = bytearray(end - position)
                    cut = self._read_into(descriptor, long_line, position)
                    yield _Piece(position, line, long_line, cut, position + cut, True, long_line.count(b"\n", 0, cut))
                    position, line = position + cut, line + long_line.count(b"\n", 0, cut)
                    continue
                cut = cut or length
                newlines = buffer.count(b"\n", 0, cut)
                yield _Piece(position, line, buffer, cut, position + cut, True, newlines)
                position, line = position + cut, line + newlines
        finally:
            os.close(descriptor)

    def _read_into(self, descriptor: int, buffer: bytearray, position: int) -> int:
        try:
            return os.preadv(descriptor, [buffer], position)
        except OSError as exc:
            raise unreadable(self.path, exc) from exc

    def _line_end(self, descriptor: int, position: int, size: int) -> int:
        """Where the line that goes on at ``position`` ends (after its newline, or at the end of the file)."""
        while position < size:
            try:
                block = os.pread(descriptor, _CHUNK, position)
            except OSError as exc:
                raise unreadable(self.path, exc) from exc
            if not block:
                break
            newline = block.find(b"\n")
            if newline >= 0:
                return position + newline + 1
            position += len(block)
        return size


#: Above this many runs one regular expression finds all their needles in one pass (else one find per needle).
_MANY_NEEDLES = 4


def _needle(run: RunRef) -> bytes:
    return f'"run_ref":"{run.text}"'.encode()


def _hit_lines(piece: _Piece, needles: list[bytes], pattern: re.Pattern[bytes] | None) -> list[tuple[int, int, bytes]]:
    """(byte offset, line number, text) of each line of ``piece`` that holds any of ``needles`` (all of them in
    ``pattern`` when given), in file order."""
    data, size = piece.data, piece.size
    spans: dict[int, int] = {}
    if pattern is not None:
        position = 0
        while (match := pattern.search(data, position, size)) is not None:
            start = data.rfind(b"\n", 0, match.start()) + 1
            end = data.find(b"\n", match.end(), size)
            spans[start] = position = size if end < 0 else end
    else:
        for needle in needles:
            hit = data.find(needle, 0, size)
            while hit >= 0:
                start = data.rfind(b"\n", 0, hit) + 1
                end = data.find(b"\n", hit, size)
                spans[start] = end = size if end < 0 else end
                hit = data.find(needle, end, size)
    found, line, counted = [], piece.line, 0
    for start in sorted(spans):
        line += data.count(b"\n", counted, start)
        counted = start
        found.append((piece.start + start, line, piece.text(start, spans[start])))
    return found


def _unattributed(piece: _Piece) -> Iterator[tuple[int, int, bytes]]:
    """(byte offset, line number, text) of each non-blank line of ``piece`` without a canonical run_ref field.

    Counted in C first: when the piece holds as many ``"run_ref"`` keys as canonical ``"run_ref":"run:`` fields
    as lines, a line without one (blank, garbage, or a key spelled with ``\\u`` escapes) could only be made up
    for by a line holding two canonical fields, so there is nothing to look at line by line. Blank lines and
    escapes need no search of their own: they make the counts disagree.
    """
    data, size = piece.data, piece.size
    count = piece.newlines + (data[size - 1:size] != b"\n")
    if data.count(_ANY_RUN_REF, 0, size) == count == data.count(_RUN_REF_KEY, 0, size):
        return
    lines = piece.text(0, size).split(b"\n")
    if not any(_ANY_RUN_REF not in line and line.strip() for line in lines):
        return
    at = piece.start
    for number, line in enumerate(lines, start=piece.line):
        if _ANY_RUN_REF not in line and line.strip():
            yield at, number, line
        at += len(line) + 1


class RecordReader:
    """Reads the records of runs from ``<workspace>/records``."""

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
        """Every record of ``run`` in append order, damaged lines that may belong to it, and reader notes."""
        return self.read_runs([run])[run.text]

    def read_runs(self, runs: list[RunRef]) -> dict[str, RunRecords]:
        """What :meth:`read_run` finds, for several runs at once: every segment is read once for all of them.

        The cyclic garbage collector is paused meanwhile: a run can hold a million records, none of them in a
        cycle, and every collection while they are built would walk all of them again. Large runs are then moved
        out of the collector's sight (``gc.freeze()``); records are freed by reference counting all the same.
        """
        collecting = gc.isenabled()
        gc.disable()
        try:
            found = self._read_runs(list({run.text: run for run in runs}.values()))
        finally:
            if collecting:
                gc.enable()
        if sum(len(records.records) for records in found.values()) >= _FREEZE_AT:
            gc.freeze()  # later collections (pytest runs two at exit) skip what exists now: these records too
        return found

    def _read_runs(self, runs: list[RunRef]) -> dict[str, RunRecords]:
        needles = [_needle(run) for run in runs]
        pattern = re.compile(b"|".join(map(re.escape, needles))) if len(needles) > _MANY_NEEDLES else None
        items: dict[str | None, list[Record | DamagedLine]] = {run.text: [] for run in runs}  # in file order
        extra: dict[str | None, list[Record | DamagedLine]] = {run.text: [] for run in runs}  # lines no search finds
        shared: list[Record | DamagedLine] = []  # damaged lines of no known run: they count against every run read
        for name in self.segment_names():
            segment = _Segment(self._segments_dir / name)
            key = (name, segment.size())
            known = self._unattributed.get(key)
            found: list[Record | DamagedLine] = []
            for piece in segment.pieces():
                if not piece.whole:  # its run is guessed from its first bytes, once per session
                    if known is None:
                        found.append(damaged(piece.text(0, piece.size), _location(name, piece.line, piece.start),
                                             f"longer than {MAX_LINE_BYTES // 2**20} MiB"))
                    continue
                for start, line, text in _hit_lines(piece, needles, pattern):
                    item = parse_line(text, _location(name, line, start))
                    if item.run_ref in items:
                        items[item.run_ref].append(item)
                if known is None:
                    found += [parse_line(text, _location(name, line, start))
                              for start, line, text in _unattributed(piece)]
            if known is None:
                known = self._unattributed[key] = found
            for item in known:
                if item.run_ref is None:
                    shared.append(item)
                elif item.run_ref in extra:
                    extra[item.run_ref].append(item)
        return {run.text: self._run_records(run, items[run.text], extra[run.text] + shared) for run in runs}

    def _run_records(self, run: RunRef, items: list[Record | DamagedLine], extra: list[Record | DamagedLine]
                     ) -> RunRecords:
        if extra:  # merged into file order; an over-long line can be found both ways
            unique = {(item.location.segment, item.location.byte_offset or 0): item for item in items + extra}
            items = [unique[place] for place in sorted(unique)]
        records: list[Record] = []
        found_damaged: list[DamagedLine] = []
        for item in items:
            if isinstance(item, DamagedLine):
                found_damaged.append(item)
            else:
                records.append(item)
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
        names: dict[bytes, str] = {}
        entries = Counter((names.get(segment) or names.setdefault(segment, segment_name(int(segment))), int(sequence),
                           int(offset)) for offset, segment, sequence in _INDEX_ENTRY.findall(data))
        notes = []
        if sum(entries.values()) != sum(1 for line in data.splitlines() if line.strip()):
            notes.append(f"records/indexes/run_ref/{path.name} has unreadable lines; the segments were read in full")
        held = Counter(map(_SEGMENT_AND_SEQUENCE, [item for item in items if not isinstance(item, DamagedLine)]))
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
    sequences = list(map(_SEQUENCE, records))
    if all(map(int.__lt__, sequences, sequences[1:])) and len(set(map(_REF, records))) == len(records):
        return []  # rising sequences rise for every metric too, and no record_ref repeats
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
