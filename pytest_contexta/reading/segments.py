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
from collections.abc import Sequence
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple

from ..errors import WorkspaceError
from ..text import printable
from .files import read_regular, regular_file_exists, unreadable
from .line_shapes import ShapeBook
from .pieces import MANY_NEEDLES, Segment, hit_lines, run_needle, unattributed_lines
from .record_lines import MAX_LINE_BYTES, damaged, parse_line
from .records import DamagedLine, MetricRecord, Record, RecordLocation, trusted
from .refs import RunRef
from .run_records import RunLines, RunRecordList
from .sequences import ambiguous_lines, sequence_notes

_SEGMENT_NAME = re.compile(r"segment-\d+\.jsonl")
_INDEX_ENTRY = re.compile(rb'\{"offset":(\d+),"segment_id":(\d+),"sequence":(\d+)\}')
_MAX_INDEX_BYTES = 512 * 2**20
_SEGMENT = itemgetter(1)
_CANONICAL_INDEX = re.compile(rb'(?:\{"offset":\d+,"segment_id":\d+,"sequence":\d+\}\n)*')
_INDEX_SEQUENCE = re.compile(rb'"sequence":(\d+)')
_INDEX_SEGMENT = re.compile(rb'"segment_id":(\d+)')
_INDEX_CHUNK = 2**20
_FREEZE_AT = 10_000


class RunRecords(NamedTuple):
    """What the reader found for one run."""

    records: RunRecordList
    damaged: list[DamagedLine]
    notes: list[str]


def _location(segment: str, line: int, byte_offset: int) -> RecordLocation:
    return trusted(RecordLocation, {"segment": segment, "line": line, "byte_offset": byte_offset})


def segment_name(segment_id: int) -> str:
    return f"segment-{segment_id:06d}.jsonl"


class RecordReader:
    """Reads the records of runs from ``<workspace>/records``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        #: Per segment (name, size): the lines no byte search can attribute, decoded once per reader.
        self._unattributed: dict[tuple[str, int], list[Record | DamagedLine]] = {}
        self._shapes = ShapeBook()

    @property
    def _segments_dir(self) -> Path:
        return self.root / "segments"

    def segment_names(self) -> list[str]:
        """Every ``segment-*.jsonl`` in name order, as Contexta reads them; an unlistable folder is an error."""
        folder = self._segments_dir
        try:
            names = sorted(entry.name for entry in os.scandir(folder) if _SEGMENT_NAME.fullmatch(entry.name))
        except FileNotFoundError as exc:
            raise WorkspaceError(
                f"{printable(str(folder))} is missing: Contexta creates it with the record store, "
                f"so the workspace was copied only in part; copy the whole workspace again"
            ) from exc
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
        if sum(len(records.records.decoded) for records in found.values()) >= _FREEZE_AT:
            gc.freeze()  # later collections (pytest runs two at exit) skip what exists now: these records too
        return found

    def _read_runs(self, runs: list[RunRef]) -> dict[str, RunRecords]:
        needles = [run_needle(run) for run in runs]
        pattern = re.compile(b"|".join(map(re.escape, needles))) if len(needles) > MANY_NEEDLES else None
        names = self.segment_names()
        found = {run.text: RunLines(names) for run in runs}  # the lines a byte search finds, in file order
        extra: dict[str | None, list[Record | DamagedLine]] = {run.text: [] for run in runs}  # lines no search finds
        shared: list[Record | DamagedLine] = []  # damaged lines of no known run: they count against every run read
        for number, name in enumerate(names):
            segment = Segment(self._segments_dir / name)
            key = (name, segment.size())
            known = self._unattributed.get(key)
            unattributed: list[Record | DamagedLine] = []
            for piece in segment.pieces():
                if not piece.whole:  # its run is guessed from its first bytes, once per session
                    if known is None:
                        unattributed.append(
                            damaged(
                                piece.text(0, piece.size),
                                _location(name, piece.line, piece.start),
                                f"longer than {MAX_LINE_BYTES // 2**20} MiB",
                            )
                        )
                    continue
                for start, line, text in self._shapes.hold(hit_lines(piece, needles, pattern), found, number):
                    self._decode(text, found, name, line, start)
                for lines in found.values():
                    lines.flush()
                if known is None:
                    unattributed += [
                        parse_line(text, _location(name, line, start))
                        for start, line, text in unattributed_lines(piece)
                    ]
            if known is None:
                known = self._unattributed[key] = unattributed
            for item in known:
                if item.run_ref is None:
                    shared.append(item)
                elif item.run_ref in extra:
                    extra[item.run_ref].append(item)
        return {run.text: self._run_records(run, found[run.text], extra[run.text] + shared) for run in runs}

    def _decode(self, text: bytes, found: dict[str, RunLines], name: str, line: int, start: int) -> None:
        """Decode in full a line a byte search found that has no learnt shape, and learn from it."""
        item = parse_line(text, _location(name, line, start))
        lines = found.get(item.run_ref)  # type: ignore[arg-type]
        if lines is not None:
            lines.add(item)
        if isinstance(item, MetricRecord):
            self._shapes.learn(text, item)

    def _run_records(self, run: RunRef, lines: RunLines, extra: list[Record | DamagedLine]) -> RunRecords:
        records, found_damaged = lines.finish(extra)
        sequences = records.sequences()
        lost, notes = self._cross_check(run, records, sequences, found_damaged)
        return RunRecords(
            records,
            found_damaged + ambiguous_lines(records, sequences) + lost,
            notes + sequence_notes(records, sequences),
        )

    @staticmethod
    def _index_agrees(data: bytearray, records: RunRecordList, sequences: Sequence[int]) -> bool:
        """Whether the index is one canonical entry per record read, in append order: checked in C, a chunk of
        entries at a time (a million entries as Python objects would cost more memory than the records)."""
        if data.count(b"\n") != len(sequences) or not data.endswith(b"\n") and data:
            return False
        number = {name: index for index, name in enumerate(records.compact.segment_names)}
        segments = records.segment_numbers()
        numbers: dict[bytes, int] = {}
        view, start, position = memoryview(data), 0, 0
        while start < len(data):
            end = data.find(b"\n", start + _INDEX_CHUNK) + 1 or len(data)
            if _CANONICAL_INDEX.fullmatch(view[start:end]) is None:  # per chunk: the expression's memory grows
                return False  # with the entries it matches at once
            listed = list(map(int, _INDEX_SEQUENCE.findall(view[start:end])))
            if listed != list(sequences[position : position + len(listed)]):
                return False
            written = _INDEX_SEGMENT.findall(view[start:end])
            for segment in set(written).difference(numbers):
                numbers[segment] = number.get(segment_name(int(segment)), -1)
            if list(map(numbers.__getitem__, written)) != list(segments[position : position + len(written)]):
                return False
            start, position = end, position + len(listed)
        return True

    def _cross_check(
        self, run: RunRef, records: RunRecordList, sequences: Sequence[int], found_damaged: list[DamagedLine]
    ) -> tuple[list[DamagedLine], list[str]]:
        """Index entries the segments do not hold (lost records), and a note on records the index lacks."""
        family = self.root / "indexes" / "run_ref"
        path = family / f"run__{run.value}.jsonl"
        if not family.is_dir():
            return [], [
                "records/indexes/run_ref is missing (indexes disabled?); nothing to cross-check, every segment was read"
            ] if records or found_damaged else []
        if not regular_file_exists(path):
            return [], [
                f"records/indexes/run_ref/{path.name} is missing; every segment was read"
            ] if records or found_damaged else []
        data = read_regular(path, _MAX_INDEX_BYTES)
        if not found_damaged and self._index_agrees(data, records, sequences):
            return [], []  # the index lists exactly the records read, in the same order, and nothing else
        found = _INDEX_ENTRY.findall(data)
        names = {segment: segment_name(int(segment)) for segment in set(map(_SEGMENT, found))}
        entries = Counter((names[segment], int(sequence), int(offset)) for offset, segment, sequence in found)
        notes = []
        if len(found) != sum(1 for line in data.splitlines() if line.strip()):
            notes.append(f"records/indexes/run_ref/{path.name} has unreadable lines; the segments were read in full")
        segments = records.compact.segment_names
        held = Counter(zip(map(segments.__getitem__, records.segment_numbers()), sequences))
        held.update(
            (item.location.segment, sequence) for item in found_damaged if (sequence := item.sequence) is not None
        )
        unsequenced = {(item.location.segment, item.location.line) for item in found_damaged if item.sequence is None}
        lost = []
        for (segment, sequence, offset), count in sorted(entries.items()):
            missing = count - held[segment, sequence]
            held[segment, sequence] = max(0, -missing)
            if missing > 0 and (segment, offset) in unsequenced:  # a damaged line at the entry's place lost its
                unsequenced.discard((segment, offset))  # sequence: it already stands for the record
                missing -= 1
            if missing > 0:
                lost += [
                    DamagedLine(
                        location=RecordLocation(segment=segment, line=offset),
                        run_ref=run.text,
                        sequence=sequence,
                        reason=(
                            f"listed in the run_ref index (sequence {sequence}) but missing from the segment: "
                            f"records lost? Restore the segments from a backup, or let Contexta rebuild_indexes() "
                            f"if the index is what is wrong"
                        ),
                    )
                ] * missing
        unindexed = sum(held.values())
        if unindexed:
            notes.append(
                f"{unindexed} record line(s) of this run are not in records/indexes/run_ref (written with "
                f"indexes disabled, or an interrupted write); read from the segments"
            )
        return lost, notes
