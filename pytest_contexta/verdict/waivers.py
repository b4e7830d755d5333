"""Waivers as data: a TOML file of accepted failures, each with an owner, a reason and an expiry date.

Read with the standard library (``tomllib``); no pydantic here, so a bad file is a usage error before
anything heavy is imported. A file malformed in any way names the line to fix.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

SOON_DAYS = 14
#: The longest a waiver may run, from the day it is judged on (ini ``contexta_waiver_max_days``).
DEFAULT_MAX_DAYS = 90
_FIELDS = ("check", "candidate", "reason", "owner", "expires")
_OPTIONAL = ("blanket",)  # blanket = true: the waiver may match every gate check of a candidate
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
    blanket: bool = False  # written ``blanket = true``: it may waive every gate check of a candidate

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


def blanket_waivers(waivers: Iterable[Waiver], collected: Mapping[str, str]) -> list[str]:
    """Why each waiver not written ``blanket = true`` that matches every collected gate check (node id ->
    candidate, selected or not) of a candidate it covers is an error: it waives the whole candidate."""
    problems = []
    for waiver in waivers:
        if waiver.blanket:
            continue
        whole = []
        for candidate in dict.fromkeys(c for c in collected.values() if waiver.covers(c)):
            ids = [nodeid for nodeid, owner in collected.items() if owner == candidate]
            if all(waiver.matches(nodeid, candidate) for nodeid in ids):
                whole.append(f"{candidate} ({len(ids)} of {len(ids)})")
        if whole:
            problems.append(
                f"the {waiver.label()} matches every gate check of {', '.join(whole)}: a waiver of a whole "
                f"candidate needs blanket = true; narrow its check pattern to the checks it accepts, or add "
                f"blanket = true to the waiver"
            )
    return problems


@lru_cache(maxsize=256)
def _pattern(text: str) -> re.Pattern[str]:
    """``*`` is any text and ``?`` one character; everything else, brackets included, stands for itself
    (node ids hold brackets: ``test_x[f1-run:p.r]``)."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text), re.DOTALL)


def load_waivers(path: Path, origin: str, on: date | None = None, max_days: int = DEFAULT_MAX_DAYS) -> WaiverFile:
    """Parse the waiver file; anything wrong is a :class:`pytest.UsageError` naming the file and line.

    A waiver must expire at most ``max_days`` after ``on`` (today) and, unless written ``blanket = true``, name
    the checks it waives by more than wildcards."""
    where = f"contexta waiver file {path} (from {origin})"
    on = on or today()
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
    waivers = []
    for entry, start, end in zip(entries, starts, bounds, strict=True):
        waiver = _waiver(where, lines, entry, start, end)
        _check_bounds(where, lines, waiver, end, on, max_days)
        waivers.append(waiver)
    return WaiverFile(path, tuple(waivers))


def _check_bounds(where: str, lines: list[str], waiver: Waiver, end: int, on: date, max_days: int) -> None:
    """A waiver runs at most ``max_days``, and waives everything only when it says ``blanket = true``."""
    last = on + timedelta(days=min(max_days, (date.max - on).days))  # a huge bound is no bound, not an overflow
    if date.fromisoformat(waiver.expires) > last:
        raise pytest.UsageError(
            f"{where} line {_key_line(lines, waiver.line, end, 'expires')}: expires {waiver.expires} is "
            f"{waiver.days_left(on)} days after today ({on.isoformat()}); a waiver runs at most {max_days} days "
            f"(ini contexta_waiver_max_days): set expires to {last.isoformat()} or earlier and renew it then"
        )
    if not waiver.blanket and set(waiver.check) <= {"*"}:
        raise pytest.UsageError(
            f"{where} line {_key_line(lines, waiver.line, end, 'check')}: check {waiver.check!r} matches every "
            f"gate check of the candidates it covers; a waiver of a whole candidate needs blanket = true: name "
            f"the checks it accepts, or add blanket = true to the waiver"
        )


def _waiver(where: str, lines: list[str], entry: dict[str, Any], start: int, end: int) -> Waiver:
    for key in entry:
        if key not in _FIELDS + _OPTIONAL:
            raise pytest.UsageError(
                f"{where} line {_key_line(lines, start, end, key)}: unknown key {key!r} "
                f"(a waiver has {', '.join(_FIELDS)} and may have {', '.join(_OPTIONAL)})"
            )
    blanket = entry.get("blanket", False)
    if not isinstance(blanket, bool):
        raise pytest.UsageError(
            f"{where} line {_key_line(lines, start, end, 'blanket')}: blanket must be true or false, not {blanket!r}"
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
        blanket=blanket,
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
