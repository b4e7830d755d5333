"""Reading a segment in pieces of whole lines, and finding in a piece the lines of the runs asked for.

A piece is searched in C for each run's canonical ``"run_ref":"run:<project>.<name>"`` bytes; lines whose bytes
do not prove their owner (a backslash, no canonical ``run_ref`` field, or ``run_ref`` more than once) are found by
counting in C (lines, canonical fields, ``run_ref`` bytes, backslashes, lines holding ``run_ref`` twice) and looked
at line by line only where the counts say some line may be one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from .files import open_regular, unreadable
from .record_lines import MAX_LINE_BYTES
from .refs import RunRef

_ANY_RUN_REF = b'"run_ref":"run:'
_RUN_REF_KEY = b'"run_ref"'
#: A line that holds ``"run_ref"`` twice (greedy: sre runs to the line's end in C, then looks back).
_TWICE = re.compile(rb'"run_ref"[^\n]*"run_ref"')
_CHUNK = 8 * 2**20


class Piece(NamedTuple):
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


class Segment:
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

    def pieces(self) -> Iterator[Piece]:
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
                        yield Piece(position, line, buffer, min(length, 4096), end, False)
                        position, line = end, line + 1
                        continue
                    long_line = bytearray(end - position)
                    cut = self._read_into(descriptor, long_line, position)
                    yield Piece(position, line, long_line, cut, position + cut, True, long_line.count(b"\n", 0, cut))
                    position, line = position + cut, line + long_line.count(b"\n", 0, cut)
                    continue
                cut = cut or length
                newlines = buffer.count(b"\n", 0, cut)
                yield Piece(position, line, buffer, cut, position + cut, True, newlines)
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
MANY_NEEDLES = 4


def run_needle(run: RunRef) -> bytes:
    return f'"run_ref":"{run.text}"'.encode()


def hit_lines(piece: Piece, needles: list[bytes], pattern: re.Pattern[bytes] | None) -> list[tuple[int, int, bytes]]:
    """(byte offset, line number, text) of each line of ``piece`` that holds any of ``needles`` (all of them in
    ``pattern`` when given), in file order."""
    data, size = piece.data, piece.size
    sample = min(size, _SAMPLE)
    if pattern is None and sum(data.count(needle, 0, sample) for needle in needles) * _DENSE > data.count(
        b"\n", 0, sample
    ):
        return _lines_holding(piece, needles)
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


#: A piece where more than one line in this many holds a needle (judged on its first _SAMPLE bytes) is split into
#: lines rather than searched per hit: the same lines either way, found faster.
_DENSE = 8
_SAMPLE = 256 * 2**10


def _lines_holding(piece: Piece, needles: list[bytes]) -> list[tuple[int, int, bytes]]:
    """What :func:`hit_lines` returns, for a piece most of whose lines are hits (one run's per-step metrics)."""
    found = []
    start, number = piece.start, piece.line
    for text in piece.text(0, piece.size).split(b"\n"):
        for needle in needles:
            if needle in text:
                found.append((start, number, text))
                break
        start += len(text) + 1
        number += 1
    return found


def unattributed_lines(piece: Piece) -> Iterator[tuple[int, int, bytes]]:
    """(byte offset, line number, text) of each non-blank line of ``piece`` whose owner its bytes do not prove.

    A line's bytes prove its owner when it holds no backslash and the bytes ``run_ref`` exactly once, in a
    canonical ``"run_ref":"run:`` field: without a backslash no key or string is escaped, so that field is the
    only place a ``run_ref`` key can be, and the byte search for its run finds the line. Any other line (blank
    lines aside) is decoded in full: garbage, a key spelled with ``\\u`` escapes, a tag or a second key named
    ``run_ref``. Counted in C first: when the piece holds no backslash, as many ``run_ref`` bytes as canonical
    fields as lines, and no line holds ``run_ref`` twice, every line holds exactly one; only otherwise is the
    piece looked at line by line.
    """
    data, size = piece.data, piece.size
    count = piece.newlines + (data[size - 1 : size] != b"\n")
    if (
        data.find(b"\\", 0, size) < 0
        and data.count(_ANY_RUN_REF, 0, size) == count == data.count(_RUN_REF_KEY, 0, size)
        and _TWICE.search(data, 0, size) is None
    ):
        return
    at = piece.start
    for number, line in enumerate(piece.text(0, size).split(b"\n"), start=piece.line):
        if not proves_owner(line) and line.strip():
            yield at, number, line
        at += len(line) + 1


def proves_owner(line: bytes) -> bool:
    """Whether the bytes of ``line`` alone say which run it belongs to, if any (see :func:`unattributed_lines`)."""
    return line.count(_RUN_REF_KEY) == 1 and _ANY_RUN_REF in line and b"\\" not in line
