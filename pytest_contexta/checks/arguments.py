"""Validation of the assertion helpers' arguments: a call that cannot describe a check raises before checking."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from ..errors import CheckArgumentError
from ..reading.refs import METRIC_KEY, SLICE_REF, case_hint, is_component
from ..runs.models import ContextaRun


def require_run(run: object, name: str) -> ContextaRun:
    __tracebackhide__ = True
    if not isinstance(run, ContextaRun):
        raise CheckArgumentError(
            f"{name} must be a run from the contexta_run or baseline_run fixture, not {type(run).__name__}"
        )
    return run


def metric_keys(metrics: str | Iterable[str]) -> list[str]:
    """The metric keys of a call, each a valid Contexta metric key."""
    __tracebackhide__ = True
    if isinstance(metrics, (bytes, bytearray, Mapping)) or not isinstance(metrics, (str, Iterable)):
        raise CheckArgumentError(
            f"metrics must be a metric key or a list of keys, not {type(metrics).__name__}: {metrics!r}"
        )
    keys = [metrics] if isinstance(metrics, str) else list(metrics)
    if not keys:
        raise CheckArgumentError("the metric list is empty: name at least one metric to check")
    for key in keys:
        if not isinstance(key, str) or METRIC_KEY.fullmatch(key) is None:
            suggestion = "-".join(key.lower().replace("_", "-").split()) if isinstance(key, str) else ""
            hint = f" (did you mean {suggestion!r}?)" if METRIC_KEY.fullmatch(suggestion) else ""
            raise CheckArgumentError(
                f"{key!r} cannot be a Contexta metric key: keys are lowercase letters, digits, '-' and "
                f"'.'{hint}{case_hint(key) if isinstance(key, str) else ''}"
            )
    return keys


def check_stage(stage: str | None) -> None:
    __tracebackhide__ = True
    if stage is not None and (not isinstance(stage, str) or not is_component(stage)):
        hint = case_hint(stage) if isinstance(stage, str) else ""
        raise CheckArgumentError(f"stage {stage!r} cannot be a Contexta stage name (e.g. 'evaluate'){hint}")


def check_slice(slice: str | None) -> None:
    __tracebackhide__ = True
    if slice is not None and (not isinstance(slice, str) or SLICE_REF.fullmatch(slice) is None):
        suggestion = "_".join(slice.lower().replace("-", "_").split()) if isinstance(slice, str) else ""
        hint = f" (did you mean {suggestion!r}?)" if SLICE_REF.fullmatch(suggestion) else ""
        raise CheckArgumentError(
            f"slice {slice!r} cannot be a Contexta slice_ref: dot-separated parts of lowercase letters, digits "
            f"and '_', each starting with a letter (e.g. 'segment.card_present'){hint}"
            f"{case_hint(slice) if isinstance(slice, str) else ''}"
        )


def check_pattern(name: str, pattern: str | None) -> None:
    """``samples=`` / ``batches=``: an fnmatch pattern of sample or batch names, or ``"*"`` for all."""
    __tracebackhide__ = True
    if pattern is not None and (not isinstance(pattern, str) or not pattern.strip()):
        raise CheckArgumentError(f"{name} must be a name pattern such as '*' or 'prompt-*', not {pattern!r}")
    if isinstance(pattern, str) and case_hint(pattern):
        raise CheckArgumentError(f"{name}={pattern!r} cannot match a Contexta name{case_hint(pattern)}")


def _as_finite(value: object) -> float | None:
    """The value as a finite float; None for a bool, a non-number, NaN, an infinity or an int too large for a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _shown(value: object) -> str:
    """``0.02``, or ``float32 0.02`` for a number of another type (numpy's look like Python's when printed)."""
    plain = value is None or isinstance(value, (bool, int, float, str))
    return repr(value) if plain else f"{type(value).__name__} {value!r}"


def check_share(name: str, share: float | None) -> None:
    __tracebackhide__ = True
    if share is not None and (isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share < 1):
        raise CheckArgumentError(f"{name} must be a fraction from 0 to below 1 (0.05 means 5 %), not {_shown(share)}")


def check_limits(max_drop: float | None, max_abs_drop: float | None) -> None:
    """``max_drop`` is a fraction below 1 (0.02 = 2 %); ``max_abs_drop`` is in the metric's units."""
    __tracebackhide__ = True
    for name, value in (("max_drop", max_drop), ("max_abs_drop", max_abs_drop)):
        if value is not None and ((number := _as_finite(value)) is None or number < 0):
            raise CheckArgumentError(f"{name} must be a finite number >= 0, not {_shown(value)}")
    if max_drop is not None and max_drop >= 1:
        raise CheckArgumentError(
            f"max_drop must be a fraction below 1, not {max_drop!r}: 0.02 means 2 %; use max_abs_drop for "
            f"larger changes (in the metric's units)"
        )
    if max_drop is None and max_abs_drop is None:
        raise CheckArgumentError("give max_drop, max_abs_drop or both: without a limit nothing can regress")


def bounds_text(at_least: float | None, at_most: float | None) -> str:
    """Validate a threshold's bounds; return them as text (``>= 0.3 and <= 1``)."""
    __tracebackhide__ = True
    for name, bound in (("at_least", at_least), ("at_most", at_most)):
        if bound is not None and _as_finite(bound) is None:
            raise CheckArgumentError(f"{name} must be a finite number, not {_shown(bound)}")
    if at_least is None and at_most is None:
        raise CheckArgumentError("give at_least, at_most or both")
    if at_least is not None and at_most is not None and at_least > at_most:
        raise CheckArgumentError(f"at_least ({at_least}) is above at_most ({at_most})")
    bounds = [f">= {at_least:g}"] if at_least is not None else []
    bounds += [f"<= {at_most:g}"] if at_most is not None else []
    return " and ".join(bounds)


def check_tags(tags: object) -> dict[str, str] | None:
    """``tags=``: a mapping of tag names to values choosing one series of a metric."""
    __tracebackhide__ = True
    if tags is None:
        return None
    if (
        not isinstance(tags, Mapping)
        or not tags
        or not all(isinstance(name, str) and isinstance(value, str) for name, value in tags.items())
    ):
        raise CheckArgumentError(
            f"tags must be a non-empty mapping of tag names to values, such as {{'dataset': 'eu'}}, not {tags!r}"
        )
    return dict(tags)


def check_confidence(confidence: object) -> float | None:
    """``confidence=``: a level strictly between 0.5 and 1 (0.95 means a 95 % interval), or None."""
    __tracebackhide__ = True
    if confidence is not None and (
        isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0.5 <= confidence < 1
    ):
        raise CheckArgumentError(
            f"confidence must be a level from 0.5 to below 1 (0.95 means a 95 % interval), "
            f"or None for a point comparison, not {confidence!r}"
        )
    return None if confidence is None else float(confidence)


def check_min_n(min_n: object) -> int | None:
    __tracebackhide__ = True
    if min_n is not None and (isinstance(min_n, bool) or not isinstance(min_n, int) or min_n < 1):
        raise CheckArgumentError(f"min_n must be a whole number of examples >= 1, not {min_n!r}")
    return min_n


def check_k(k: object) -> float:
    __tracebackhide__ = True
    if isinstance(k, bool) or not isinstance(k, (int, float)) or not math.isfinite(k) or k <= 0:
        raise CheckArgumentError(f"k must be a number of robust standard deviations > 0, not {k!r}")
    return float(k)
