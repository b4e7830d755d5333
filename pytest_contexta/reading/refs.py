"""Contexta's name grammar in one place: run refs, stage names, metric keys, slice refs, and close-match help.

Everything here is pure: nothing touches the file system.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import NamedTuple

_KIND = re.compile(r"[a-z][a-z0-9_]*")
_COMPONENT = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_MAX_REF_LENGTH = 255
_MAX_COMPONENT_LENGTH = 63
_RUN_COMPONENTS = 2
#: A metric key (``metric_key`` in Contexta): lowercase dot/kebab, e.g. ``eval.roc-auc``.
METRIC_KEY = re.compile(r"[a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)*")
#: A ``slice_ref`` of a metric record: dot-separated lower_snake parts, e.g. ``segment.card_present``.
SLICE_REF = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*")
_SUGGESTIONS = 3
_CLOSENESS = 0.6


class RefError(ValueError):
    """A run reference that is not valid Contexta syntax."""


class RunRef(NamedTuple):
    """A canonical run ref, ``run:<project>.<name>``."""

    project: str
    name: str

    @property
    def text(self) -> str:
        return f"run:{self.project}.{self.name}"

    @property
    def project_ref(self) -> str:
        return f"project:{self.project}"

    @property
    def value(self) -> str:
        return f"{self.project}.{self.name}"

    def stage_ref(self, stage_name: str) -> str:
        return f"stage:{self.value}.{stage_name}"


def is_component(text: str) -> bool:
    """True for one lower-kebab ref component such as ``product-ranker``."""
    return len(text) <= _MAX_COMPONENT_LENGTH and _COMPONENT.fullmatch(text) is not None


def parse_run_ref(text: str) -> RunRef:
    """Parse a canonical ``run:<project>.<name>`` ref or raise :class:`RefError` saying what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise RefError("the run ref is empty")
    text = text.strip()
    if len(text) > _MAX_REF_LENGTH:
        raise RefError(f"the run ref is longer than {_MAX_REF_LENGTH} characters")
    kind, sep, value = text.partition(":")
    if not sep:
        raise RefError(f"{text!r} has no 'run:' prefix")
    if kind != "run":
        hint = " (use lowercase 'run:')" if kind.lower() == "run" else ""
        raise RefError(f"{text!r} is a {kind!r} ref, not a run ref{hint}")
    components = value.split(".")
    if len(components) != _RUN_COMPONENTS:
        raise RefError(f"{text!r} must have exactly two parts, run:<project>.<run-name>")
    for component in components:
        if not is_component(component):
            raise RefError(
                f"{text!r} has an invalid part {component!r}: parts are lowercase letters, digits "
                f"and single '-' between them, at most {_MAX_COMPONENT_LENGTH} characters"
            )
    return RunRef(*components)


def looks_like_ref(text: str) -> bool:
    """True when the text is meant as a ref (has a ``kind:`` prefix) rather than a bare run name."""
    kind, sep, _ = text.strip().partition(":")
    return bool(sep) and _KIND.fullmatch(kind.lower()) is not None


def component_of(ref: str, index: int) -> str:
    """One dot-separated component of a ref's value, e.g. the stage name of a stage ref (index -1)."""
    return ref.partition(":")[2].split(".")[index]


def suggest(name: str, choices: Iterable[str]) -> list[str]:
    """The closest of ``choices`` to ``name`` (at most three, best first), ignoring case, ``_`` and ``-``.

    ``suggest("rocauc", ["roc-auc", "f1"])`` gives ``["roc-auc"]``; no choice close enough gives ``[]``.
    """

    def plain(text: str) -> str:
        return re.sub(r"[-_\s]", "", text.lower())

    by_plain: dict[str, list[str]] = {}
    for choice in dict.fromkeys(choices):
        by_plain.setdefault(plain(choice), []).append(choice)
    exact = by_plain.get(plain(name), [])
    close = difflib.get_close_matches(plain(name), list(by_plain), n=_SUGGESTIONS, cutoff=_CLOSENESS)
    found = exact + [choice for key in close for choice in by_plain[key] if choice not in exact]
    return [choice for choice in found if choice != name][:_SUGGESTIONS]


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'a' or 'b'?)`` for the closest choices, or an empty string."""
    found = suggest(name, choices)
    return f" (did you mean {' or '.join(repr(choice) for choice in found)}?)" if found else ""


def case_hint(name: str) -> str:
    """A note for a name with uppercase letters or spaces (Contexta names are lowercase), or an empty string."""
    if name != name.lower() or any(char.isspace() for char in name):
        return "; names are lowercase, without spaces"
    return ""
