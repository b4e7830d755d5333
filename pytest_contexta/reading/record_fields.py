"""Contexta's rules for one field of a record line: refs and their prefixes, tokens, choices, timestamps.

Each rule returns the field's value (None when it is absent and not required) or raises :class:`RefusedRecord`
saying what Contexta would refuse; :func:`remembered` runs a check once per distinct combination of values.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from ..text import printable

COMPONENT = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
DOT_TOKEN = re.compile(r"[a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)*")
SNAKE_TOKEN = re.compile(r"[a-z][a-z0-9_]*")
DOT_OR_SNAKE = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*")
_ISO_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z")
#: Components of each core ref kind (Contexta's ``validate_core_stable_ref``).
_COMPONENTS = {
    "run": (2,),
    "record": (3,),
    "stage": (3,),
    "deployment": (2,),
    "batch": (4,),
    "sample": (4, 5),
    "op": (4, 5),
}
_MAX_CACHED = 100_000
_Checked = TypeVar("_Checked")


class RefusedRecord(ValueError):
    """The line is JSON, but Contexta would refuse it as a record; the message says why."""


def quoted(value: object, limit: int = 80) -> str:
    """A value from the line, quoted, escaped and cut for a message."""
    text = printable(str(value))
    return f"'{text[:limit]}…'" if len(text) > limit else f"'{text}'"


def remembered(cache: dict[tuple[Any, ...], _Checked], key: tuple[Any, ...], check: Callable[[], _Checked]) -> _Checked:
    """``check()`` done once per distinct ``key`` (a bounded cache): repeated field values are validated once.

    A key holding a list or object where a string belongs cannot be cached: ``check()`` runs and says which.
    """
    try:
        found = cache.get(key)
    except TypeError:
        return check()
    if found is None:
        found = check()
        if len(cache) >= _MAX_CACHED:
            cache.clear()
        cache[key] = found
    return found


def present(document: dict[str, Any], field: str, required: bool) -> Any:
    value = document.get(field)
    if value is None and required:
        raise RefusedRecord(f"{field} is missing")
    return value


def text_field(document: dict[str, Any], field: str, *, required: bool = False) -> Any:
    value = present(document, field, required)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise RefusedRecord(f"{field} is not a non-blank string")
    return value


def token_field(document: dict[str, Any], field: str, pattern: re.Pattern[str], *, required: bool = False) -> Any:
    value = text_field(document, field, required=required)
    if value is not None and pattern.fullmatch(value) is None:
        raise RefusedRecord(f"{field} {quoted(value)} is not a valid token")
    return value


def choice_field(document: dict[str, Any], field: str, allowed: tuple[str, ...], *, required: bool = False) -> Any:
    value = present(document, field, required)
    if value is not None and value not in allowed:
        raise RefusedRecord(f"{field} {quoted(value)} is not one of {', '.join(allowed)}")
    return value


def mapping_field(document: dict[str, Any], field: str) -> dict[str, Any]:
    value = document.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RefusedRecord(f"{field} is not an object")
    return value


def timestamp_field(document: dict[str, Any], field: str) -> str:
    value = present(document, field, True)
    if not isinstance(value, str) or _ISO_Z.fullmatch(value) is None:
        raise RefusedRecord(f"{field} {quoted(value)} is not an ISO-8601 UTC 'Z' timestamp")
    return value


def ref_field(document: dict[str, Any], field: str, kind: str, *, required: bool = False) -> Any:
    value = present(document, field, required)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 255:
        raise RefusedRecord(f"{field} is not a ref")
    prefix, _, rest = value.partition(":")
    components = rest.split(".")
    if (
        prefix != kind
        or len(components) not in _COMPONENTS[kind]
        or not all(len(part) <= 63 and COMPONENT.fullmatch(part) for part in components)
    ):
        raise RefusedRecord(f"{field} {quoted(value)} is not a valid {kind} ref")
    return value


def same_prefix(ref: str, owner: str, components: int, field: str, owner_field: str) -> None:
    if ref.partition(":")[2].split(".")[:components] != owner.partition(":")[2].split(".")[:components]:
        raise RefusedRecord(f"{field} {ref!r} does not share the prefix of {owner_field} {owner!r}")
