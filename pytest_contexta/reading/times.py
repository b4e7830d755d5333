"""Contexta's timestamps as the gate compares them: real times, not strings."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_ISO_UTC = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})")


def parse_time(text: str) -> datetime:
    """Parse Contexta's ISO-8601 timestamps (``…Z``, optional fraction) as aware datetimes.

    Contexta compares these as strings, so ``10:00:00.5Z`` sorts before ``10:00:00Z``;
    the gate compares real times.
    """
    match = _ISO_UTC.fullmatch(text)
    if match is None:
        raise ValueError(f"not an ISO-8601 timestamp: {text!r}")
    whole, fraction, zone = match.groups()
    micro = (fraction or "").ljust(6, "0")[:6]
    zone = "+00:00" if zone == "Z" else zone
    return datetime.fromisoformat(f"{whole}.{micro}{zone}").astimezone(UTC)


def comparable_time(value: str) -> str:
    """Validate a time the gate compares (``parse_time`` must accept it and give a UTC time)."""
    try:
        parse_time(value)
    except OverflowError as exc:  # a valid-looking time whose UTC value is out of range
        raise ValueError(f"{value!r} is out of range") from exc
    return value
