"""Text laid out within a terminal width: wrapped paragraphs and a table whose columns shrink to fit (pure).

Widths are display columns, a wide or ambiguous-width character (``▁``, ``→``, ``·``) counting as two, so a line
fits also in a terminal that draws those wide. Lines break at spaces; a word too long for a line breaks after a
separator (``-``, ``/``, ``::``, ``,``, ``;``, a closing bracket) or before an opening bracket, never inside a
run of letters and digits unless that run alone is wider than the line.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

_GAP = "  "
#: Where a word may break: after these separators, or before an opening bracket.
BREAKS = re.compile(r"(?<=::)|(?<=[-/,;\])])|(?=[\[(])")
#: Where a piece still wider than a line may break: after a dot or an underscore (``data.`` ``dataset_``).
FINER_BREAKS = re.compile(r"(?<=[._])")
_WORDS = re.compile(r"(\s*)(\S+)")


@dataclass(frozen=True)
class Column:
    """A table column: its header, and the narrowest it may get (0: never narrower than its widest cell)."""

    header: str
    shrink_to: int = 0


def display_width(text: str) -> int:
    """The columns ``text`` takes in a terminal, wide and ambiguous-width characters counting as two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WFA" else 1 for char in text)


def pieces(word: str) -> list[str]:
    """``word`` cut where it may break: ``test_a[latency-p95-ms]`` -> ``test_a``, ``[latency-``, ``p95-``,
    ``ms]``."""
    return [piece for piece in BREAKS.split(word) if piece]


def wrap(text: str, width: int, indent: str = "", first: str = "") -> list[str]:
    """``first + text`` wrapped to ``width`` at spaces, continuation lines prefixed with ``indent``; a word longer
    than a line breaks at its separators (:func:`pieces`)."""
    width = max(width, display_width(indent) + 8 if indent else 1)
    lines: list[str] = []
    line, fresh = first, True  # fresh: nothing but the prefix on the line yet
    for gap, token in _tokens(text, width - display_width(indent)):
        joined = line + ("" if fresh else gap) + token
        if display_width(joined) > width and not fresh:
            lines.append(line.rstrip())
            line, joined = indent, indent + token
        line, fresh = joined, False
    return [*lines, line.rstrip()]


def _tokens(text: str, room: int) -> Iterator[tuple[str, str]]:
    """(the spaces before, a word) for each word; a word wider than ``room`` as its pieces, glued (no spaces)."""
    for match in _WORDS.finditer(text):
        gap, word = " " * len(match[1]), match[2]
        if display_width(word) <= room:
            yield gap, word
            continue
        for piece in pieces(word):
            for chunk in _chunks(piece, room):
                yield gap, chunk
                gap = ""


def _chunks(piece: str, room: int) -> Iterator[str]:
    """``piece`` in parts no wider than ``room``: itself, else cut after its dots and underscores, and only a run
    without any separator wider than a line is cut where it must."""
    if display_width(piece) <= room:
        yield piece
        return
    part = ""
    for finer in (finer for finer in FINER_BREAKS.split(piece) if finer):
        if part and display_width(part + finer) > room:
            yield part
            part = ""
        if display_width(finer) <= room:
            part += finer
            continue
        yield from _hard_chunks(part + finer, room)
        part = ""
    if part:
        yield part


def _hard_chunks(text: str, room: int) -> Iterator[str]:
    part = ""
    for char in text:
        if part and display_width(part + char) > room:
            yield part
            part = ""
        part += char
    yield part


def table(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int) -> list[list[str]] | None:
    """The rows as a table no wider than ``width``, cells wrapped inside their column; None when it cannot fit.

    Returns the header (its line and a rule) followed by each row's lines. Columns whose cells are all empty are
    left out. The shrinkable column with the most room to give gives way first.
    """
    keep = [i for i in range(len(columns)) if any(row[i] for row in rows)]
    headers = [columns[i].header for i in keep]
    cells = [[row[i] for i in keep] for row in rows]
    widths = [max(display_width(headers[j]), *(display_width(row[j]) for row in cells)) for j in range(len(keep))]
    floors = [_floor(columns[i], headers[j], [row[j] for row in cells], widths[j]) for j, i in enumerate(keep)]
    fitted = shrunk_widths(widths, floors, width)
    if fitted is None:
        return None
    header = [_row(headers, fitted), _GAP.join("-" * w for w in fitted).rstrip()]
    return [header, *(_wrapped_row(row, fitted) for row in cells)]


def _floor(column: Column, header: str, cells: Sequence[str], widest: int) -> int:
    """The narrowest a column may get: its widest cell, or for a shrinkable one its ``shrink_to`` but never less
    than its header or a piece of a cell (a word is never cut)."""
    if not column.shrink_to:
        return widest
    longest = max(
        (display_width(piece) for cell in cells for word in cell.split() for piece in pieces(word)), default=0
    )
    return max(display_width(header), column.shrink_to, longest)


def shrunk_widths(widths: Sequence[int], floors: Sequence[int], width: int) -> list[int] | None:
    """Column widths whose sum with the gaps is at most ``width``, each at least its floor: one character at a time
    from the column with the most room to give (the first of equals); None when the floors do not fit."""
    widths = list(widths)
    while sum(widths) + len(_GAP) * (len(widths) - 1) > width:
        shrinkable = [j for j in range(len(widths)) if widths[j] > floors[j]]
        if not shrinkable:
            return None
        widest = max(shrinkable, key=lambda j: widths[j] - floors[j])
        widths[widest] -= 1
    return widths


def _row(cells: Sequence[str], widths: Sequence[int]) -> str:
    return _GAP.join(cell + " " * (w - display_width(cell)) for cell, w in zip(cells, widths)).rstrip()


def _wrapped_row(cells: Sequence[str], widths: Sequence[int]) -> list[str]:
    parts = [wrap(cell, w) if display_width(cell) > w else [cell] for cell, w in zip(cells, widths)]
    height = max(len(part) for part in parts)
    return [_row([part[k] if k < len(part) else "" for part in parts], widths) for k in range(height)]
