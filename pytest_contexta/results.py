"""What the assertion helpers produce: their structured results, and the context that records them per test."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal

from .frozen import FrozenModel

CheckKind = Literal["diagnostics", "metrics_present", "regression", "threshold", "custom"]


class CheckFields(FrozenModel):
    """What a check looked at and found: shared by helper verdicts and the report's check entries."""

    kind: CheckKind
    detail: str
    metric: str | None = None
    stage: str | None = None
    slice: str | None = None
    sample: str | None = None
    batch: str | None = None
    value_source: str | None = None
    candidate_value: float | None = None
    baseline_value: float | None = None
    baseline_ref: str | None = None
    change_abs: float | None = None
    change_rel: float | None = None
    limit: str | None = None
    direction: str | None = None
    ignored: list[str] | None = None  # the codes an ``ignore=`` argument waived in code


class CheckResult(CheckFields):
    """One verdict of one helper call on one metric (or on the run's diagnostics)."""

    run_ref: str
    passed: bool
    advisory: bool = False  # the helper was called with advisory=True: not passing is a warning


@dataclass
class CheckContext:
    """What the helpers need from the running session: where to record, and the ini direction rules."""

    results: list[CheckResult] = field(default_factory=list)
    baseline_reasons: Mapping[str, str] = field(default_factory=dict)
    lower_is_better: tuple[str, ...] = ()
    higher_is_better: tuple[str, ...] = ()


_current: ContextVar[CheckContext | None] = ContextVar("contexta_check_context", default=None)


def current() -> CheckContext:
    """The running test's context, or an unrecorded one when a helper is used outside a gate session."""
    return _current.get() or CheckContext()


@contextmanager
def recording(context: CheckContext) -> Iterator[CheckContext]:
    """Collect every helper result into ``context`` for the duration of the block."""
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)
