"""What the assertion helpers produce: their structured results, and the context that records them per test."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import model_validator

from ..frozen import FrozenModel
from ..runs.replicates import DEFAULT_REPLICATE_TAGS

if TYPE_CHECKING:
    from ..runs.models import ContextaRun

CheckKind = Literal["diagnostics", "metrics_present", "regression", "threshold", "history", "custom"]
#: ``inconclusive``: the data cannot tell whether the check holds; ``skipped``: a slice below ``min_n``.
ResultOutcome = Literal["passed", "failed", "inconclusive", "skipped"]


class HistoryPoint(FrozenModel):
    """One value of a metric's trend: the history run it came from and the deployment that put that run in
    production (its newest completed one; null when the run was passed as history without one)."""

    value: float
    run_ref: str
    deployment: str | None = None
    deployed_at: str | None = None  # the deployment's start (UTC, ISO 8601)


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
    confidence: float | None = None
    change_low: float | None = None
    change_high: float | None = None
    mde: float | None = None
    noise_source: str | None = None
    candidate_n: int | None = None
    baseline_n: int | None = None
    #: The trend: the metric's usable values in the history runs, newest first (regression checks).
    history_values: list[float] | None = None
    #: The same values with the run and deployment each came from, newest first.
    history: list[HistoryPoint] | None = None
    #: The band the candidate's value had to stay within, from the limit (null: open on that side).
    allowed_low: float | None = None
    allowed_high: float | None = None


class CheckResult(CheckFields):
    """One verdict of one helper call on one metric (or on the run's diagnostics).

    ``passed`` is True when the row does not block the gate by itself (``passed`` and ``skipped``
    outcomes); ``outcome`` says which of the four it is. Built with ``passed`` alone, the outcome follows it.
    """

    run_ref: str
    passed: bool
    advisory: bool = False  # the helper was called with advisory=True: not passing is a warning
    outcome: ResultOutcome = "passed"
    #: Names of the call's ``direction`` mapping it does not check and its runs do not record, with close matches
    #: (the session notes those no check used: :mod:`.direction_names`); not part of the report's check entry.
    direction_unknown: dict[str, list[str]] | None = None

    @model_validator(mode="before")
    @classmethod
    def _outcome_from_passed(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("outcome") is None and "passed" in data:
            data = {**data, "outcome": "passed" if data["passed"] else "failed"}
        if isinstance(data, dict) and data.get("passed") is None and "outcome" in data:
            data = {**data, "passed": data["outcome"] in ("passed", "skipped")}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> CheckResult:
        if self.passed != (self.outcome in ("passed", "skipped")):
            raise ValueError(f"passed={self.passed} contradicts outcome {self.outcome!r}")
        return self


@dataclass
class CheckContext:
    """What the helpers need from the running session: where to record, the ini direction rules, the tags
    that tell replicates apart, whether an inconclusive check fails its test, and the history runs
    (newest first; ``None`` until the session provides them)."""

    results: list[CheckResult] = field(default_factory=list)
    baseline_reasons: Mapping[str, str] = field(default_factory=dict)
    lower_is_better: tuple[str, ...] = ()
    higher_is_better: tuple[str, ...] = ()
    replicate_tags: tuple[str, ...] = DEFAULT_REPLICATE_TAGS
    inconclusive_fails: bool = True
    history: tuple[ContextaRun, ...] | None = None


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
