"""Find every record of one run in Contexta's JSONL segments, without trusting Contexta's indexes.

Contexta writes each segment line as canonical compact JSON, so every line of a run holds the exact bytes
``"run_ref":"run:<project>.<name>"``. Every ``segment-*.jsonl`` (whatever its number, in name order as Contexta
reads them) is read in pieces of whole lines (bounded memory) and searched for those bytes; each line found
is decoded and kept only if its envelope really names the run. Lines that hold no canonical ``run_ref``
field at all (garbage, truncated or hand-edited lines) cannot be attributed by bytes: they are decoded once
per reader, and those that do not decode to another run's record count against every run read.

The ``run_ref`` index is a cross-check only (:mod:`.run_index`): an entry the segments do not hold is a lost
record of the run; records the index lacks are read anyway and noted. Within the run, records keep
Contexta's append order; a metric whose sequence does not increase over an earlier line of the same metric,
or a ``record_ref`` repeated with other content, is ambiguous and becomes a damaged line naming both places.
"""

from __future__ import annotations

import gc
import os
import re
from pathlib import Path
from typing import NamedTuple

from ..errors import WorkspaceError
from ..text import printable
from .files import unreadable
from .line_shapes import ShapeBook
from .pieces import MANY_NEEDLES, Piece, Segment, hit_lines, run_needle, unattributed_lines
from .record_lines import MAX_LINE_BYTES, damaged, parse_line
from .records import DamagedLine, MetricRecord, Record, RecordLocation, trusted
from .refs import RunRef
from .run_index import cross_check
from .run_records import RunLines, RunRecordList
from .sequences import ambiguous_lines, sequence_notes

_SEGMENT_NAME = re.compile(r"segment-\d+\.jsonl")
_FREEZE_AT = 10_000


class RunRecords(NamedTuple):
    """What the reader found for one run."""

    records: RunRecordList
    damaged: list[DamagedLine]
    notes: list[str]


def _location(segment: str, line: int, byte_offset: int) -> RecordLocation:
    return trusted(RecordLocation, {"segment": segment, "line": line, "byte_offset": byte_offset})


def _over_long(piece: Piece, segment: str) -> DamagedLine:
    """A line longer than any record, as a damaged line (a piece of its own, not decoded)."""
    return damaged(
        piece.text(0, piece.size),
        _location(segment, piece.line, piece.start),
        f"longer than {MAX_LINE_BYTES // 2**20} MiB",
    )


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
            for item in self._read_segment(number, name, needles, pattern, found):
                if item.run_ref is None:
                    shared.append(item)
                elif item.run_ref in extra:
                    extra[item.run_ref].append(item)
        return {run.text: self._run_records(run, found[run.text], extra[run.text] + shared) for run in runs}

    def _read_segment(
        self,
        number: int,
        name: str,
        needles: list[bytes],
        pattern: re.Pattern[bytes] | None,
        found: dict[str, RunLines],
    ) -> list[Record | DamagedLine]:
        """Add the lines of one segment a byte search finds to ``found``; return the segment's lines no byte
        search can attribute (decoded once per reader)."""
        segment = Segment(self._segments_dir / name)
        key = (name, segment.size())
        known = self._unattributed.get(key)
        unattributed: list[Record | DamagedLine] = []
        for piece in segment.pieces():
            if not piece.whole:  # its run is guessed from its first bytes, once per session
                if known is None:
                    unattributed.append(_over_long(piece, name))
                continue
            for start, line, text in self._shapes.hold(hit_lines(piece, needles, pattern), found, number):
                self._decode(text, found, name, line, start)
            for lines in found.values():
                lines.flush()
            if known is None:
                unattributed += [
                    parse_line(text, _location(name, line, start)) for start, line, text in unattributed_lines(piece)
                ]
        if known is None:
            known = self._unattributed[key] = unattributed
        return known

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
        lost, notes = cross_check(self.root, run, records, sequences, found_damaged)
        return RunRecords(
            records,
            found_damaged + ambiguous_lines(records, sequences) + lost,
            notes + sequence_notes(records, sequences),
        )
