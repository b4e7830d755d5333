"""Text laid out within a terminal width: wrapped paragraphs and a table whose columns shrink to fit (pure)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

_GAP = "  "


@dataclass(frozen=True)
class Column:
    """A table column: its header, and the narrowest it may get (0: never narrower than its widest cell)."""

    header: str
    shrink_to: int = 0


def wrap(text: str, width: int, indent: str = "", first: str = "") -> list[str]:
    """``first + text`` wrapped to ``width``, continuation lines prefixed with ``indent`` (long words broken)."""
    lines = textwrap.wrap(
        text,
        max(width, len(indent) + 8),
        initial_indent=first,
        subsequent_indent=indent,
        break_long_words=True,
        break_on_hyphens=False,
    )
    return lines or [first.rstrip()]


def table(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int) -> list[list[str]] | None:
    """The rows as a table no wider than ``width``, cells wrapped inside their column; None when it cannot fit.

    Returns the header (its line and a rule) followed by each row's lines. Columns whose cells are all empty are
    left out. The shrinkable column with the most room to give gives way first.
    """
    keep = [i for i in range(len(columns)) if any(row[i] for row in rows)]
    headers = [columns[i].header for i in keep]
    cells = [[row[i] for i in keep] for row in rows]
    widths = [max(len(headers[j]), *(len(row[j]) for row in cells)) for j in range(len(keep))]
    floors = [
        max(len(headers[j]), columns[i].shrink_to) if columns[i].shrink_to else widths[j] for j, i in enumerate(keep)
    ]
    fitted = shrunk_widths(widths, floors, width)
    if fitted is None:
        return None
    header = [_row(headers, fitted), _GAP.join("-" * w for w in fitted).rstrip()]
    return [header, *(_wrapped_row(row, fitted) for row in cells)]


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
    return _GAP.join(cell.ljust(w) for cell, w in zip(cells, widths)).rstrip()


def _wrapped_row(cells: Sequence[str], widths: Sequence[int]) -> list[str]:
    pieces = [
        textwrap.wrap(cell, w, break_long_words=True) if len(cell) > w else [cell] for cell, w in zip(cells, widths)
    ]
    height = max(len(piece) for piece in pieces)
    return [_row([piece[k] if k < len(piece) else "" for piece in pieces], widths) for k in range(height)]
