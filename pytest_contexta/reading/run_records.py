"""A run's records as the reader holds them: decoded records, and metric lines held compact until asked for.

A run can hold a million per-step metric lines; as records they would take ~2 KB each. Lines that have a
validated shape (:mod:`.line_shapes`) are held compact (:mod:`.compact_lines`: ~150 bytes, in arrays the
garbage collector does not walk) and become records only when a check asks for their key, or when every
record is iterated. Everything the reader and the diagnostics need of the whole run (sequences, refs,
keys, stages, markers) is answered from the shapes and arrays.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterator, MutableSequence, Sequence
from heapq import merge
from typing import Any, overload

from .compact_lines import CompactLines, HeldLine
from .records import DamagedLine, MetricRecord, Record


class RunRecordList(Sequence[Record]):
    """A run's records in Contexta's append order (a read-only sequence, like the tuple it stands for)."""

    def __init__(self, decoded: list[Record], decoded_at: array[int], compact: CompactLines) -> None:
        self._decoded = decoded
        self._decoded_at = decoded_at  # the positions of the decoded records among all records, rising
        self.compact = compact
        self._keyed: dict[str, tuple[MetricRecord, ...]] = {}

    def __len__(self) -> int:
        return len(self._decoded) + len(self.compact)

    @overload
    def __getitem__(self, index: int) -> Record: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Record, ...]: ...

    def __getitem__(self, index: int | slice) -> Record | tuple[Record, ...]:
        if isinstance(index, slice):
            return tuple(self[position] for position in range(*index.indices(len(self))))
        size = len(self)
        position = index + size if index < 0 else index
        if not 0 <= position < size:
            raise IndexError("record index out of range")
        before = bisect_left(self._decoded_at, position)
        if before < len(self._decoded_at) and self._decoded_at[before] == position:
            return self._decoded[before]
        return self.compact.record(position - before)

    def __iter__(self) -> Iterator[Record]:
        decoded, at, compact = self._decoded, self._decoded_at, self.compact
        taken = 0
        for position in range(len(self)):
            if taken < len(at) and at[taken] == position:
                yield decoded[taken]
                taken += 1
            else:
                yield compact.record(position - taken)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]

    def __add__(self, other: object) -> tuple[Record, ...]:
        """``records + (record,)`` as with the tuple a run's records used to be."""
        return tuple(self) + other if isinstance(other, tuple) else NotImplemented

    def __radd__(self, other: object) -> tuple[Record, ...]:
        return other + tuple(self) if isinstance(other, tuple) else NotImplemented

    def __repr__(self) -> str:
        return f"<{len(self)} records, {len(self.compact)} of them held compact>"

    @property
    def decoded(self) -> list[Record]:
        """The records that were decoded line by line (every event, degraded record and span among them)."""
        return self._decoded

    def with_key(self, key: str) -> tuple[MetricRecord, ...]:
        """The metric records of ``key`` in append order, built once."""
        if key not in self._keyed:
            decoded = [
                (at, record)
                for at, record in zip(self._decoded_at, self._decoded)
                if isinstance(record, MetricRecord) and record.key == key
            ]
            lines = [
                self.compact.lines_of_shape(index)
                for index, shape in enumerate(self.compact.shapes)
                if shape.fields["key"] == key
            ]
            indices = list(merge(*lines)) if len(lines) > 1 else list(lines[0]) if lines else []
            positions = self._positions_of(indices)
            held = [(position, self.compact.record(index)) for position, index in zip(positions, indices)]
            found = sorted(decoded + held, key=_first) if decoded and held else decoded or held
            self._keyed[key] = tuple(record for _, record in found)
        return self._keyed[key]

    def _positions_of(self, indices: list[int]) -> list[int]:
        """The positions among all records of compact lines ``indices`` (rising)."""
        if not self._decoded_at:
            return indices
        at = self._decoded_at
        positions, before = [], 0
        for index in indices:  # the position p of compact line i has p - (decoded before p) == i
            while before < len(at) and at[before] <= index + before:
                before += 1
            positions.append(index + before)
        return positions

    def metric_keys(self, stage_name: str | None = None) -> set[str]:
        shapes = [shape.fields for shape in self.compact.shapes]
        records = [record.__dict__ for record in self._decoded if isinstance(record, MetricRecord)]
        return {
            fields["key"]
            for fields in shapes + records
            if stage_name is None or _stage_name(fields["stage_ref"]) == stage_name
        }

    def metric_stage_refs(self) -> set[str | None]:
        """The stage refs (None for run level) that hold at least one metric record."""
        return {shape.fields["stage_ref"] for shape in self.compact.shapes} | {
            record.stage_ref for record in self._decoded if isinstance(record, MetricRecord)
        }

    def batch_refs(self, stage_ref: str) -> set[str]:
        """The batch refs the records of ``stage_ref`` carry."""
        found = [shape.fields for shape in self.compact.shapes] + [record.__dict__ for record in self._decoded]
        return {fields["batch_ref"] for fields in found if fields["stage_ref"] == stage_ref and fields["batch_ref"]}

    def marked_degraded(self) -> list[Record]:
        """The records whose ``degradation_marker`` is not ``none``, in append order."""
        marked = [
            (at, record) for at, record in zip(self._decoded_at, self._decoded) if record.degradation_marker != "none"
        ]
        for index, shape in enumerate(self.compact.shapes):
            if shape.fields["degradation_marker"] != "none":
                lines = list(self.compact.lines_of_shape(index))
                marked += zip(self._positions_of(lines), map(self.compact.record, lines))
        return [record for _, record in sorted(marked, key=_first)]

    def sequences(self) -> MutableSequence[int]:
        """Every record's sequence, in append order."""
        return self._in_order(self.compact.sequences, [record.sequence for record in self._decoded])

    def segment_numbers(self) -> MutableSequence[int]:
        """Every record's segment, as its index in ``compact.segment_names``, in append order."""
        number = {name: index for index, name in enumerate(self.compact.segment_names)}
        return self._in_order(self.compact.segment_of, [number[record.location.segment] for record in self._decoded])

    def _in_order(self, compact: array[int], decoded: list[int]) -> MutableSequence[int]:
        """One column in append order, from the compact lines' column and the decoded records' one (an array,
        unless a decoded record holds a number it cannot: a sequence of 2**63 or more)."""
        fits = all(_SIGNED_64[0] <= value < _SIGNED_64[1] for value in decoded)
        merged: MutableSequence[int] = array(compact.typecode) if fits else []
        taken = 0  # compact lines merged so far
        for position, value in zip(self._decoded_at, decoded):
            before = position - len(merged)  # compact lines between the last decoded record and this one
            merged.extend(compact[taken : taken + before])
            taken += before
            merged.append(value)
        merged.extend(compact[taken:])
        return merged

    def refs_unique(self) -> bool:
        """Whether no record_ref repeats among the run's records."""
        tokens = set(self.compact.tokens())
        refs = {record.ref for record in self._decoded}
        if len(tokens) != len(self.compact) or len(refs) != len(self._decoded):
            return False
        prefixes = {shape.prefix for shape in self.compact.shapes}
        return not any(
            ref.startswith(prefix) and ref[len(prefix) :].encode() in tokens for ref in refs for prefix in prefixes
        )


_SIGNED_64 = (-(2**63), 2**63)


def _first(pair: tuple[int, Any]) -> int:
    return pair[0]


def _stage_name(stage_ref: str | None) -> str | None:
    return None if stage_ref is None else stage_ref.rpartition(".")[2]


class RunLines:
    """The lines of one run found in one pass over the segments, in file order: decoded items and compact lines."""

    def __init__(self, segment_names: list[str]) -> None:
        self.compact = CompactLines(segment_names)
        self.held: list[HeldLine] = []  # compact lines not yet in ``compact``
        self._items: list[Record | DamagedLine] = []
        self._entries = array("q")  # per item: how many lines of the run came before it

    def add(self, item: Record | DamagedLine) -> None:
        self.flush()
        self._entries.append(len(self._items) + len(self.compact))
        self._items.append(item)

    def flush(self) -> None:
        """Move the held lines into ``compact`` (after each piece: a tuple per line costs more than its arrays)."""
        self.compact.extend(self.held)
        self.held = []

    def finish(self, extra: list[Record | DamagedLine]) -> tuple[RunRecordList, list[DamagedLine]]:
        """The run's records, and its damaged lines, with ``extra`` (lines no byte search finds) in file order."""
        self.flush()
        items, entries = (self._items, self._entries) if not extra else self._merged(extra)
        records: list[Record] = []
        damaged: list[DamagedLine] = []
        positions = array("q")
        for entry, item in zip(entries, items):
            if isinstance(item, DamagedLine):
                damaged.append(item)
            else:
                positions.append(entry - len(damaged))
                records.append(item)
        return RunRecordList(records, positions, self.compact), damaged

    def _merged(self, extra: list[Record | DamagedLine]) -> tuple[list[Record | DamagedLine], array[int]]:
        """Items and ``extra`` in file order (an over-long line can be found both ways: it counts once)."""
        number = {name: index for index, name in enumerate(self.compact.segment_names)}

        def place(item: Record | DamagedLine) -> int:
            return number.get(item.location.segment, 0) << 40 | (item.location.byte_offset or 0)

        unique = {place(item): item for item in self._items + extra}
        compact = self.compact
        held = [segment << 40 | offset for segment, offset in zip(compact.segment_of, compact.offsets)]
        order = sorted(unique)
        entries = array("q", (index + bisect_left(held, at) for index, at in enumerate(order)))
        return [unique[at] for at in order], entries
