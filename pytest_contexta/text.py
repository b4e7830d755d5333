"""Text shown to people: strings from a workspace made safe to print, and the first line of a message."""

from __future__ import annotations

import unicodedata

_UNSAFE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp"}  # control, format (bidi overrides), line/paragraph separators


def printable(text: str) -> str:
    """``text`` with every control or format character escaped (``\\n``, ``\\x1b``, ``\\u202e``).

    Strings that come from a workspace (names, summaries, messages) pass through this before they reach a
    terminal, a markdown file or a JUnit property, so a record cannot forge lines such as ``GATE PASSED``.
    """
    if text.isprintable():
        return text
    return "".join(char if unicodedata.category(char) not in _UNSAFE_CATEGORIES else _escape(char) for char in text)


def _escape(char: str) -> str:
    code = ord(char)
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    if char in named:
        return named[char]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def first_line(text: str) -> str:
    """The first line of ``text`` that is not blank, stripped ("" when there is none)."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")
