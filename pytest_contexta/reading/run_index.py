"""Contexta's ``run_ref`` index, as a cross-check of the records read from the segments (never trusted).

An index entry the segments do not hold is a lost record of the run (a :class:`DamagedLine`); records the
index lacks were read anyway and are noted. An index that lists exactly the records read, in order, is
recognised in C without building an object per entry.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from operator import itemgetter
from pathlib import Path

from .files import read_regular, regular_file_exists
from .records import DamagedLine, RecordLocation
from .refs import RunRef
from .run_records import RunRecordList

_INDEX_ENTRY = re.compile(rb'\{"offset":(\d+),"segment_id":(\d+),"sequence":(\d+)\}')
_MAX_INDEX_BYTES = 512 * 2**20
_SEGMENT = itemgetter(1)
_CANONICAL_INDEX = re.compile(rb'(?:\{"offset":\d+,"segment_id":\d+,"sequence":\d+\}\n)*')
_INDEX_SEQUENCE = re.compile(rb'"sequence":(\d+)')
_INDEX_SEGMENT = re.compile(rb'"segment_id":(\d+)')
_INDEX_CHUNK = 2**20

Held = Counter[tuple[str, int]]  # (segment, sequence) -> record lines read there


def segment_name(segment_id: int) -> str:
    return f"segment-{segment_id:06d}.jsonl"


def cross_check(
    records_root: Path,
    run: RunRef,
    records: RunRecordList,
    sequences: Sequence[int],
    found_damaged: list[DamagedLine],
) -> tuple[list[DamagedLine], list[str]]:
    """Index entries the segments do not hold (lost records), and notes on an index that is missing, has
    unreadable lines or lacks records read."""
    family = records_root / "indexes" / "run_ref"
    path = family / f"run__{run.value}.jsonl"
    missing = _missing(family, path)
    if missing is not None:
        return [], [missing] if records or found_damaged else []
    data = read_regular(path, _MAX_INDEX_BYTES)
    if not found_damaged and _index_agrees(data, records, sequences):
        return [], []  # the index lists exactly the records read, in the same order, and nothing else
    found = _INDEX_ENTRY.findall(data)
    notes = []
    if len(found) != sum(1 for line in data.splitlines() if line.strip()):
        notes.append(f"records/indexes/run_ref/{path.name} has unreadable lines; the segments were read in full")
    held = _held(records, sequences, found_damaged)
    lost = _lost(run, found, held, found_damaged)
    unindexed = sum(held.values())
    if unindexed:
        notes.append(
            f"{unindexed} record line(s) of this run are not in records/indexes/run_ref (written with "
            f"indexes disabled, or an interrupted write); read from the segments"
        )
    return lost, notes


def _missing(family: Path, path: Path) -> str | None:
    """What to note when there is no index to cross-check with; None when there is one."""
    if not family.is_dir():
        return "records/indexes/run_ref is missing (indexes disabled?); nothing to cross-check, every segment was read"
    if not regular_file_exists(path):
        return f"records/indexes/run_ref/{path.name} is missing; every segment was read"
    return None


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


def _held(records: RunRecordList, sequences: Sequence[int], found_damaged: list[DamagedLine]) -> Held:
    """The record lines read, records and damaged lines with a sequence, by segment and sequence."""
    segments = records.compact.segment_names
    held = Counter(zip(map(segments.__getitem__, records.segment_numbers()), sequences))
    held.update((item.location.segment, sequence) for item in found_damaged if (sequence := item.sequence) is not None)
    return held


def _lost(
    run: RunRef, found: list[tuple[bytes, bytes, bytes]], held: Held, found_damaged: list[DamagedLine]
) -> list[DamagedLine]:
    """A damaged line per index entry no line read stands for; ``held`` keeps the lines no entry took."""
    names = {segment: segment_name(int(segment)) for segment in set(map(_SEGMENT, found))}
    entries = Counter((names[segment], int(sequence), int(offset)) for offset, segment, sequence in found)
    unsequenced = {(item.location.segment, item.location.line) for item in found_damaged if item.sequence is None}
    lost = []
    for (segment, sequence, offset), count in sorted(entries.items()):
        missing = count - held[segment, sequence]
        held[segment, sequence] = max(0, -missing)
        if missing > 0 and (segment, offset) in unsequenced:  # a damaged line at the entry's place lost its
            unsequenced.discard((segment, offset))  # sequence: it already stands for the record
            missing -= 1
        if missing > 0:
            lost += [_lost_line(run, segment, offset, sequence)] * missing
    return lost


def _lost_line(run: RunRef, segment: str, offset: int, sequence: int) -> DamagedLine:
    return DamagedLine(
        location=RecordLocation(segment=segment, line=offset),
        run_ref=run.text,
        sequence=sequence,
        reason=(
            f"listed in the run_ref index (sequence {sequence}) but missing from the segment: "
            f"records lost? Restore the segments from a backup, or let Contexta rebuild_indexes() "
            f"if the index is what is wrong"
        ),
    )
