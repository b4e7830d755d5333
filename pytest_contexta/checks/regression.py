"""One metric of a regression check: compare candidate and baseline under a direction and limits."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from ..runs.metrics import MetricLookup, Selection, find_metric
from ..runs.models import ContextaRun
from .deployed import metric_in_history
from .direction import ResolvedDirection, how_to_declare
from .noise import Estimate, estimate
from .results import CheckResult, ResultOutcome

if TYPE_CHECKING:
    from .stats import Interval

_TOLERANCE = 1e-12


class Comparison(NamedTuple):
    """How a candidate value compares with a baseline value under a direction and limits."""

    passed: bool
    change_abs: float
    change_rel: float | None
    limit: str


def compare(
    baseline: float, candidate: float, direction: str, max_drop: float | None, max_abs_drop: float | None
) -> Comparison:
    """Decide whether ``candidate`` is no worse than ``baseline`` allows.

    Worsening is a fall for higher-is-better metrics and a rise for lower-is-better ones;
    ``max_drop`` bounds it relative to ``|baseline|``, ``max_abs_drop`` in the metric's units.
    With a baseline of 0 any worsening breaks a relative limit.
    """
    change = candidate - baseline
    worsening = -change if direction == "higher" else change
    relative = None if baseline == 0 else change / abs(baseline)
    passed = True
    if max_drop is not None:
        worse_rel = (worsening / abs(baseline)) if baseline != 0 else (math.inf if worsening > 0 else 0.0)
        passed &= worse_rel <= max_drop + _TOLERANCE
    if max_abs_drop is not None:
        passed &= worsening <= max_abs_drop + _TOLERANCE * max(1.0, abs(baseline))
    return Comparison(passed, change, relative, limit_text(max_drop, max_abs_drop))


def limit_text(max_drop: float | None, max_abs_drop: float | None) -> str:
    """The limits as shown: ``worse by at most 2.00%`` (relative) and/or ``worse by at most 5`` (absolute)."""
    limits = [f"worse by at most {max_drop + 0.0:.2%}"] if max_drop is not None else []  # + 0.0: no "-0.00%"
    limits += [f"worse by at most {max_abs_drop + 0.0:g}"] if max_abs_drop is not None else []
    return " and ".join(limits)


def number(value: float | None) -> str:
    return "—" if value is None else f"{value:.6g}"


def label(key: str, slice: str | None) -> str:
    return f"{key} [{slice}]" if slice else key


def _change_text(comparison: Comparison) -> str:
    relative = "n/a: baseline is 0" if comparison.change_rel is None else f"{comparison.change_rel:+.2%}"
    return f"{comparison.change_abs:+.6g} ({relative})"


class ComparisonVerdict(NamedTuple):
    """One row of a regression check and its line in the failure message."""

    result: CheckResult
    line: str


class Question(NamedTuple):
    """What one regression check asks, the same for every slice and metric of a helper call."""

    candidate: ContextaRun
    baseline: ContextaRun
    stage: str | None
    max_drop: float | None
    max_abs_drop: float | None
    accept_incomplete: bool
    selection: Selection
    confidence: float | None
    history: Sequence[ContextaRun] | None


class Assessment(NamedTuple):
    """One metric (and slice) assessed, before the family's multiple-testing correction decides it."""

    name: str
    common: dict[str, Any]
    problems: list[str]
    mine: MetricLookup
    theirs: MetricLookup
    comparison: Comparison | None = None
    estimate: Estimate | None = None
    allowed: float = 0.0
    p_beyond: float = 1.0
    #: How the history was chosen (``History.chosen_by``), said where its spread decides.
    history_by: str | None = None


def allowed_worsening(baseline: float, max_drop: float | None, max_abs_drop: float | None) -> float:
    """The limit in the metric's units: the tighter of ``max_drop·|baseline|`` and ``max_abs_drop``."""
    limits = [max_drop * abs(baseline)] if max_drop is not None else []
    limits += [max_abs_drop] if max_abs_drop is not None else []
    return min(limits)


def assess(question: Question, key: str, slice: str | None, direction: ResolvedDirection) -> Assessment:
    """Look the metric up on both sides and, when both have a value, compare them (with an interval when asked)."""
    mine, theirs = (
        find_metric(
            run,
            key,
            question.stage,
            slice=slice,
            accept_incomplete=question.accept_incomplete,
            selection=question.selection,
        )
        for run in (question.candidate, question.baseline)
    )
    common = _fields(question, key, slice, direction, mine, theirs)
    problems = [
        f"{side}: {lookup.problem}" for side, lookup in (("candidate", mine), ("baseline", theirs)) if lookup.problem
    ]
    if direction.direction is None:
        problems.append(f"{direction}; {how_to_declare(key)}")
    found = Assessment(label(key, slice), common, problems, mine, theirs)
    if problems:
        return found
    assert mine.value is not None and theirs.value is not None and direction.direction is not None
    comparison = compare(theirs.value, mine.value, direction.direction, question.max_drop, question.max_abs_drop)
    found = found._replace(comparison=comparison)
    if question.max_drop is not None or question.max_abs_drop is not None:  # the band the candidate had to stay in
        worst = allowed_worsening(theirs.value, question.max_drop, question.max_abs_drop)
        common.update(
            {"allowed_low": theirs.value - worst}
            if direction.direction == "higher"
            else {"allowed_high": theirs.value + worst}
        )
    if question.confidence is None:
        return found
    return _with_interval(found, question, slice, question.confidence, direction.direction == "higher")


def _fields(
    question: Question,
    key: str,
    slice: str | None,
    direction: ResolvedDirection,
    mine: MetricLookup,
    theirs: MetricLookup,
) -> dict[str, Any]:
    """The fields every row of this metric and slice carries: the values, direction, limit and history."""
    fields: dict[str, Any] = {
        "kind": "regression",
        "run_ref": question.candidate.ref,
        "metric": key,
        "stage": question.stage,
        "slice": slice,
        "baseline_ref": question.baseline.ref,
        "candidate_value": mine.value,
        "baseline_value": theirs.value,
        "direction": str(direction),
        "limit": limit_text(question.max_drop, question.max_abs_drop),
        "value_source": mine.source if mine.record is not None else None,
    }
    if question.history:
        points = metric_in_history(
            question.history, question.candidate.ref, key, question.stage, slice, question.selection
        )
        fields.update(history=points, history_values=[point.value for point in points])
    else:
        fields["history_values"] = None
    return fields


def _with_interval(
    found: Assessment, question: Question, slice: str | None, confidence: float, higher: bool
) -> Assessment:
    """The assessment with its noise estimate and the chance that the worsening is beyond the limit."""
    assert found.comparison is not None and found.theirs.value is not None
    noise = estimate(found.mine, found.theirs, slice, question.selection, confidence, found.common["history_values"])
    allowed = allowed_worsening(found.theirs.value, question.max_drop, question.max_abs_drop)
    sign = -1.0 if higher else 1.0
    p_beyond = noise.interval.p_beyond(sign * found.comparison.change_abs, allowed) if noise.interval else 1.0
    return found._replace(
        estimate=noise, allowed=allowed, p_beyond=p_beyond, history_by=getattr(question.history, "chosen_by", None)
    )


def judge_comparisons(
    assessments: Sequence[Assessment], confidence: float | None, correction: str
) -> list[ComparisonVerdict]:
    """PASS when the whole interval of the worsening is within the limit, FAIL when it is wholly beyond
    (for a family of several, when the corrected p-value of "beyond" is below (1 − confidence)/2),
    INCONCLUSIVE otherwise; without an interval, the point comparison decides."""
    intervals = [a for a in assessments if a.estimate is not None and a.estimate.interval is not None]
    adjusted: dict[int, float] = {}
    if len(intervals) > 1:
        from .stats import CORRECTIONS

        corrected = CORRECTIONS[correction]([a.p_beyond for a in intervals])
        adjusted = {id(a): p for a, p in zip(intervals, corrected)}
    return [_judge(a, confidence, adjusted.get(id(a)), correction, len(intervals)) for a in assessments]


def _judge(
    found: Assessment, confidence: float | None, adjusted: float | None, correction: str, family: int
) -> ComparisonVerdict:
    if found.problems or found.comparison is None:
        detail = f"{found.name}: cannot compare ({'; '.join(found.problems)})"
        return ComparisonVerdict(CheckResult(passed=False, detail=detail, **found.common), f"  {detail}")
    mine, theirs, comparison = found.mine, found.theirs, found.comparison
    sources = (
        f"values from {mine.source}"
        if mine.source == theirs.source
        else f"candidate value from {mine.source}, baseline value from {theirs.source}"
    )
    change = _change_text(comparison)
    fields: dict[str, Any] = {"change_abs": comparison.change_abs, "change_rel": comparison.change_rel}
    outcome: ResultOutcome = "passed" if comparison.passed else "failed"
    noise = ""
    if found.estimate is not None:
        interval = found.estimate.interval
        noise = f"; {found.estimate.source}"
        fields.update(confidence=confidence, noise_source=found.estimate.source)
        if interval is not None:
            outcome, change, noise = _interval_outcome(found, interval, adjusted, correction, family)
            fields.update(
                change_low=interval.low,
                change_high=interval.high,
                mde=interval.mde,
                candidate_n=found.estimate.candidate_n,
                baseline_n=found.estimate.baseline_n,
            )
    detail = (
        f"{found.name}: {number(theirs.value)} -> {number(mine.value)}, change {change}, "
        f"{found.common['direction']}; allowed: {comparison.limit}{noise}; {sources}"
    )
    result = CheckResult(outcome=outcome, passed=outcome == "passed", detail=detail, **fields, **found.common)
    mark = {"passed": "ok  ", "failed": "FAIL", "inconclusive": "INCONCLUSIVE"}[outcome]
    return ComparisonVerdict(result, f"  {mark} {detail}")


def _interval_outcome(
    found: Assessment, interval: Interval, adjusted: float | None, correction: str, family: int
) -> tuple[ResultOutcome, str, str]:
    assert found.comparison is not None and found.estimate is not None
    higher = found.common["direction"].startswith("higher")
    worst = -interval.low if higher else interval.high
    best = -interval.high if higher else interval.low
    alpha_half = (1 - interval.confidence) / 2
    beyond = (adjusted < alpha_half) if adjusted is not None else best > found.allowed + _TOLERANCE
    outcome: ResultOutcome = "passed" if worst <= found.allowed + _TOLERANCE else "failed" if beyond else "inconclusive"
    change = (
        f"{_change_text(found.comparison)} [{interval.confidence:.0%} CI {interval.low:+.6g}, {interval.high:+.6g}]"
    )
    estimate = found.estimate
    counts = f"n {estimate.candidate_n or '?'} vs {estimate.baseline_n or '?'}"
    noise = f"; {counts}, {estimate.source}, MDE {interval.mde:.3g}"
    if adjusted is not None:
        noise += f", {correction}-adjusted p {adjusted:.3g} over {family} slices"
    if estimate.from_history and found.history_by:
        noise += f"; history: {found.history_by}"
    return outcome, change, noise
