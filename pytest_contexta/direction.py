"""Whether a metric is better higher or lower, and where that answer came from."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Literal, NamedTuple

from .errors import CheckArgumentError

Direction = Literal["higher", "lower"]
DirectionArgument = Direction | Mapping[str, Direction] | None

#: Name parts (between ``.`` and ``-``) that mark a metric as lower-is-better.
LOWER_IS_BETTER_PARTS = frozenset({
    "loss", "error", "errors", "err", "latency", "duration", "time", "seconds", "secs", "ms",
    "mae", "mse", "rmse", "mape", "smape", "wer", "cer", "perplexity", "ppl", "fpr", "fnr",
    "brier", "logloss", "ece", "cost", "memory", "bytes",
})
#: Whole-name patterns for lower-is-better metrics whose parts alone do not tell.
LOWER_IS_BETTER_PATTERNS = ("*false-positive*", "*false-negative*", "*miss-rate*")


class ResolvedDirection(NamedTuple):
    direction: Direction
    source: str

    def __str__(self) -> str:
        return f"{self.direction} is better ({self.source})"


def builtin_direction(key: str) -> ResolvedDirection | None:
    """The built-in answer for ``key``, or None when no built-in rule names it."""
    for part in re.split(r"[.-]", key):
        if part in LOWER_IS_BETTER_PARTS:
            return ResolvedDirection("lower", f"built-in: name part {part!r}")
    for pattern in LOWER_IS_BETTER_PATTERNS:
        if fnmatchcase(key, pattern):
            return ResolvedDirection("lower", f"built-in: pattern {pattern!r}")
    return None


def check_direction_argument(direction: DirectionArgument) -> None:
    """Raise :class:`CheckArgumentError` unless ``direction`` is None, 'higher', 'lower' or a mapping of them."""
    __tracebackhide__ = True
    values = direction.values() if isinstance(direction, Mapping) else [direction]
    for value in values:
        if value not in (None, "higher", "lower"):
            raise CheckArgumentError(f"direction must be 'higher' or 'lower', not {value!r}")


def resolve_direction(
    key: str,
    direction: DirectionArgument = None,
    lower_patterns: Sequence[str] = (),
    higher_patterns: Sequence[str] = (),
) -> ResolvedDirection:
    """Resolve in order: the ``direction`` argument, the ini patterns, the built-in list, higher."""
    explicit = direction.get(key) if isinstance(direction, Mapping) else direction
    if explicit is not None:
        return ResolvedDirection(explicit, "direction argument")
    for pattern in higher_patterns:
        if fnmatchcase(key, pattern):
            return ResolvedDirection("higher", f"ini contexta_higher_is_better {pattern!r}")
    for pattern in lower_patterns:
        if fnmatchcase(key, pattern):
            return ResolvedDirection("lower", f"ini contexta_lower_is_better {pattern!r}")
    return builtin_direction(key) or ResolvedDirection("higher", "default")
