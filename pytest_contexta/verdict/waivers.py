"""Waivers as data: a TOML file of accepted failures, each with an owner, a reason and an expiry date.

Read with the standard library (``tomllib``); no pydantic here, so a bad file is a usage error before
anything heavy is imported. A file malformed in any way names the line to fix.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

SOON_DAYS = 14
_FIELDS = ("check", "candidate", "reason", "owner", "expires")
_TOML_LINE = re.compile(r"\(at line (\d+), column \d+\)")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    """The date waivers are judged on (UTC): a waiver holds through its ``expires`` day. No setting moves it (none
    may make an expired waiver hold again); the suite's tests replace ``_utc_now`` (tests/frozen_clock.py)."""
    return _utc_now().date()


@dataclass(frozen=True)
class Waiver:
    """One ``[[waiver]]`` entry; ``line`` is where it starts in the file."""

    line: int
    check: str
    candidate: str
    reason: str
    owner: str
    expires: str  # ISO date

    def days_left(self, on: date) -> int:
        return (date.fromisoformat(self.expires) - on).days

    def expired(self, on: date) -> bool:
        return self.days_left(on) < 0

    def covers(self, candidate: str) -> bool:
        """``candidate`` is a pattern of the run ref or of the run name."""
        pattern = _pattern(self.candidate)
        return bool(pattern.fullmatch(candidate) or pattern.fullmatch(candidate.rsplit(".", 1)[-1]))

    def matches(self, nodeid: str, candidate: str) -> bool:
        """``check`` is a pattern of the node id, and the waiver covers the candidate."""
        return bool(_pattern(self.check).fullmatch(nodeid)) and self.covers(candidate)

    def label(self) -> str:
        return f"waiver at line {self.line} (check {self.check!r}, candidate {self.candidate!r}, owner {self.owner})"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WaiverFile:
    """The parsed file: its path and entries in file order."""

    path: Path
    waivers: tuple[Waiver, ...]

    def applicable(self, nodeid: str, candidate: str, on: date) -> tuple[Waiver | None, list[Waiver]]:
        """The first valid waiver that covers the check, and the expired ones that would have."""
        matching = [w for w in self.waivers if w.matches(nodeid, candidate)]
        valid = next((w for w in matching if not w.expired(on)), None)
        return valid, [w for w in matching if w.expired(on)]


def unmatched_waivers(waivers: Iterable[Waiver], collected: Mapping[str, str]) -> list[str]:
    """Why each waiver that covers a gated candidate names none of its collected gate checks (``collected``: node id
    -> candidate, selected or not) is an error: a mistyped pattern, a renamed test, or an id written for the old
    order (``[run:p.r-f1]``; the candidate now comes last, ``[f1-run:p.r]``) would otherwise waive nothing, silently."""
    problems = []
    for waiver in waivers:
        covered = {candidate for candidate in collected.values() if waiver.covers(candidate)}
        if covered and not any(
            waiver.matches(nodeid, candidate) for nodeid, candidate in collected.items() if candidate in covered
        ):
            ids = [nodeid for nodeid, candidate in collected.items() if candidate in covered]
            example = next((nodeid for nodeid in ids if "-run:" in nodeid), ids[0])  # one with parameters, if any
            problems.append(
                f"the {waiver.label()} names no gate check of {', '.join(sorted(covered))} collected in "
                f"this session; gate check ids name the candidate last, e.g. {example}: correct its "
                f"check pattern or remove the waiver"
            )
    return problems


@lru_cache(maxsize=256)
def _pattern(text: str) -> re.Pattern[str]:
    """``*`` is any text and ``?`` one character; everything else, brackets included, stands for itself
    (node ids hold brackets: ``test_x[f1-run:p.r]``)."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text), re.DOTALL)


def load_waivers(path: Path, origin: str) -> WaiverFile:
    """Parse the waiver file; anything wrong is a :class:`pytest.UsageError` naming the file and line."""
    where = f"contexta waiver file {path} (from {origin})"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise pytest.UsageError(f"{where} cannot be read: {exc.strerror or exc}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_LINE.search(str(exc))
        line = f" line {found.group(1)}" if found else ""
        raise pytest.UsageError(f"{where}{line}: not valid TOML ({_TOML_LINE.sub('', str(exc)).strip()})") from None
    lines = text.splitlines()
    starts = [number for number, content in enumerate(lines, 1) if content.strip().startswith("[[waiver]]")]
    unknown = sorted(set(document) - {"waiver"})
    if unknown:
        raise pytest.UsageError(
            f"{where} line {_key_line(lines, 1, len(lines), unknown[0])}: unknown table or key "
            f"{unknown[0]!r}; the file holds only [[waiver]] entries"
        )
    entries = document.get("waiver", [])
    if not isinstance(entries, list) or len(entries) != len(starts):
        raise pytest.UsageError(f"{where} line {starts[0] if starts else 1}: write each waiver as a [[waiver]] table")
    bounds = [*starts[1:], len(lines) + 1]
    return WaiverFile(
        path,
        tuple(
            _waiver(where, lines, entry, start, end) for entry, start, end in zip(entries, starts, bounds, strict=True)
        ),
    )


def _waiver(where: str, lines: list[str], entry: dict[str, Any], start: int, end: int) -> Waiver:
    for key in entry:
        if key not in _FIELDS:
            raise pytest.UsageError(
                f"{where} line {_key_line(lines, start, end, key)}: unknown key {key!r} "
                f"(a waiver has {', '.join(_FIELDS)})"
            )
    for key in _FIELDS:
        if key not in entry:
            raise pytest.UsageError(
                f"{where} line {start}: the waiver has no {key!r} (a waiver needs {', '.join(_FIELDS)})"
            )
        value = entry[key]
        problem = _problem(key, value)
        if problem:
            raise pytest.UsageError(f"{where} line {_key_line(lines, start, end, key)}: {key} {problem}")
    expires = entry["expires"]
    return Waiver(
        line=start,
        check=entry["check"].strip(),
        candidate=entry["candidate"].strip(),
        reason=entry["reason"].strip(),
        owner=entry["owner"].strip(),
        expires=(expires if isinstance(expires, date) else date.fromisoformat(expires)).isoformat(),
    )


def _problem(key: str, value: object) -> str | None:
    if key == "expires":
        if isinstance(value, datetime) or not isinstance(value, (date, str)):
            return f"must be a date such as 2027-03-31, not {value!r}"
        if isinstance(value, str):
            try:
                date.fromisoformat(value)
            except ValueError:
                return f"must be a date such as 2027-03-31, not {value!r}"
        return None
    if not isinstance(value, str) or not value.strip():
        return f"must be a non-empty string, not {value!r}"
    return None


def _key_line(lines: list[str], start: int, end: int, key: str) -> int:
    pattern = re.compile(rf"^\s*(\[+\s*)?{re.escape(key)}\b")
    return next((number for number in range(start, end) if pattern.match(lines[number - 1])), start)
