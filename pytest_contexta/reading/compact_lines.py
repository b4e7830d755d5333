"""A run's metric lines held compact: each as its shape, its open parts and where it sits, in arrays.

A line of a validated shape (:mod:`.line_shapes`) costs ~150 bytes here instead of ~2 KB as a record, in arrays
the garbage collector does not walk; :meth:`CompactLines.record` builds its record when a check asks for it.
"""

from __future__ import annotations

import re
from array import array
from itertools import accumulate, islice

from .line_shapes import LineShape, OpenParts
from .records import MetricRecord, RecordLocation, trusted

#: A line to hold: (shape, open parts as :class:`OpenParts` fields, segment, line, byte offset).
HeldLine = tuple[LineShape, tuple[bytes, bytes, bytes, bytes, float, bool, int], int, int, int]
_TOKENS = re.compile(rb"([^\x00\x01]*)\x00[^\x01]*\x01")
_plus_one = (1).__add__


class CompactLines:
    """Metric lines of one run, each held as its shape, its open parts and where it sits."""

    def __init__(self, segment_names: list[str]) -> None:
        self.segment_names = segment_names  # shared with the reader: index -> file name
        self.shapes: list[LineShape] = []
        self._shape_index: dict[LineShape, int] = {}
        self._by_shape: list[list[int]] | None = None
        self.shape_of: array[int] = array("I")
        self.sequences: array[int] = array("q")
        self.values: array[float] = array("d")
        self.integral = bytearray()
        self.segment_of: array[int] = array("I")
        self.line_numbers: array[int] = array("q")
        self.offsets: array[int] = array("q")
        #: Per line ``token NUL observed NUL recorded (empty: the same) NUL tags`` and SOH; ``_ends`` says where
        #: each ends. The open parts never hold a control character (:mod:`.line_shapes`).
        self._text = bytearray()
        self._ends: array[int] = array("q")

    def __len__(self) -> int:
        return len(self.sequences)

    def extend(self, held: list[HeldLine]) -> None:
        """Hold lines, each given as (shape, open parts as :class:`OpenParts` fields, segment, line, byte offset)."""
        if not held:
            return
        index = self._shape_index
        for shape in {shape for shape, *_ in held}:
            if shape not in index:
                index[shape] = len(self.shapes)
                self.shapes.append(shape)
        shapes, parts, segments, lines, offsets = zip(*held)
        tokens, observed, recorded, tags, values, integral, sequences = zip(*parts)
        self.shape_of.extend(map(index.__getitem__, shapes))
        self.sequences.extend(sequences)
        self.values.extend(values)
        self.integral.extend(integral)
        self.segment_of.extend(segments)
        self.line_numbers.extend(lines)
        self.offsets.extend(offsets)
        entries = list(map(b"\x00".join, zip(tokens, observed, recorded, tags)))
        self._ends.extend(islice(accumulate(map(_plus_one, map(len, entries)), initial=len(self._text)), 1, None))
        self._text += b"\x01".join(entries) + b"\x01"
        self._by_shape = None

    def tokens(self) -> list[bytes]:
        """The record_ref token of every line (``r0042`` of ``record:p.r.r0042``), in order."""
        return _TOKENS.findall(self._text)

    def lines_of_shape(self, index: int) -> list[int]:
        """The indices of the lines of shape number ``index``, rising."""
        if self._by_shape is None:
            by_shape: list[list[int]] = [[] for _ in self.shapes]
            for line, shape in enumerate(self.shape_of):
                by_shape[shape].append(line)
            self._by_shape = by_shape
        return self._by_shape[index]

    def record(self, index: int) -> MetricRecord:
        start = self._ends[index - 1] if index else 0
        token, observed, recorded, tags = bytes(self._text[start : self._ends[index] - 1]).split(b"\x00")
        parts = OpenParts(
            token,
            observed,
            recorded or observed,
            tags,
            self.values[index],
            bool(self.integral[index]),
            self.sequences[index],
        )
        location = trusted(
            RecordLocation,
            {
                "segment": self.segment_names[self.segment_of[index]],
                "line": self.line_numbers[index],
                "byte_offset": self.offsets[index],
            },
        )
        return self.shapes[self.shape_of[index]].record(parts, location)
