"""Assertion helpers for gate checks. Each failure names the run, the check and the numbers."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, NamedTuple

from . import checks
from .checks import CheckResult
from .direction import DirectionArgument, ResolvedDirection, check_direction_argument, resolve_direction
from .errors import CheckArgumentError
from .metrics import SLICE_REF, find_metric
from .models import ContextaRun
from .refs import METRIC_KEY, is_component

_TOLERANCE = 1e-12


class GateCheckFailed(AssertionError):
    """A gate check found the run not fit to deploy."""


def _fail_unless(results: list[CheckResult], message: str) -> None:
    __tracebackhide__ = True
    context = checks.current()
    context.results.extend(results)
    if not all(result.passed for result in results):
        raise GateCheckFailed(message)


def _require_run(run: object, name: str) -> ContextaRun:
    __tracebackhide__ = True
    if not isinstance(run, ContextaRun):
        raise CheckArgumentError(
            f"{name} must be a run from the contexta_run or baseline_run fixture, not {type(run).__name__}"
        )
    return run


def _metric_keys(metrics: str | Iterable[str]) -> list[str]:
    __tracebackhide__ = True
    keys = [metrics] if isinstance(metrics, str) else list(metrics)
    if not keys:
        raise CheckArgumentError("the metric list is empty: name at least one metric to check")
    for key in keys:
        if not isinstance(key, str) or METRIC_KEY.fullmatch(key) is None:
            hint = f" (did you mean {key.lower().replace('_', '-')!r}?)" if isinstance(key, str) else ""
            raise CheckArgumentError(
                f"{key!r} cannot be a Contexta metric key: keys are lowercase letters, digits, '-' and '.'{hint}"
            )
    return keys


def _check_stage(stage: str | None) -> None:
    __tracebackhide__ = True
    if stage is not None and (not isinstance(stage, str) or not is_component(stage)):
        raise CheckArgumentError(f"stage {stage!r} cannot be a Contexta stage name (e.g. 'evaluate')")


def _check_slice(slice: str | None) -> None:
    __tracebackhide__ = True
    if slice is not None and (not isinstance(slice, str) or SLICE_REF.fullmatch(slice) is None):
        suggestion = slice.lower().replace("-", "_") if isinstance(slice, str) else ""
        hint = f" (did you mean {suggestion!r}?)" if SLICE_REF.fullmatch(suggestion) else ""
        raise CheckArgumentError(
            f"slice {slice!r} cannot be a Contexta slice_ref: dot-separated parts of lowercase letters, digits "
            f"and '_', each starting with a letter (e.g. 'segment.card_present'){hint}"
        )


def _check_limit(name: str, value: float | None) -> None:
    __tracebackhide__ = True
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise CheckArgumentError(f"{name} must be a finite number >= 0, not {value!r}")


def _where(stage: str | None, slice: str | None) -> str:
    return (f" in stage {stage!r}" if stage else "") + (f" for slice {slice!r}" if slice else "")


def _label(key: str, slice: str | None) -> str:
    return f"{key} [{slice}]" if slice else key


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.6g}"


def assert_no_error_diagnostics(run: ContextaRun, *, ignore: Iterable[str] = ()) -> None:
    """Fail when the run has an error-severity diagnostic whose code is not in ``ignore``."""
    __tracebackhide__ = True
    run = _require_run(run, "run")
    waived = {ignore} if isinstance(ignore, str) else set(ignore)
    errors = [d for d in run.diagnostics if d.severity == "error" and d.code not in waived]
    others = [d for d in run.diagnostics if d not in errors]
    if errors:
        detail = "; ".join(f"{d.code}: {d.summary}" for d in errors)
    else:
        waived_count = sum(d.severity == "error" and d.code in waived for d in run.diagnostics)
        waived_note = f", {waived_count} error(s) waived" if waived_count else ""
        detail = (f"no error diagnostics ({sum(d.severity == 'warning' for d in others)} warning, "
                  f"{sum(d.severity == 'info' for d in others)} info{waived_note})")
    lines = [f"{run.ref} has {len(errors)} error diagnostic(s):"]
    for d in errors:
        stricter = (f"; Contexta says {d.contexta_severity}" if d.contexta_severity not in (None, d.severity)
                    else "")
        lines.append(f"  {d.code} [{d.subject_ref}]{stricter}: {d.summary}")
    lines.append("Waive a code only when it is known to be harmless: assert_no_error_diagnostics(run, ignore=[...])")
    _fail_unless([CheckResult(kind="diagnostics", run_ref=run.ref, passed=not errors, detail=detail)],
                 "\n".join(lines))


def assert_metrics_present(run: ContextaRun, metrics: str | Iterable[str], *, stage: str | None = None,
                           slice: str | None = None) -> None:
    """Fail unless every metric has a usable value; with ``stage``, only values recorded in that stage count.

    Only overall values count (records without a ``slice_ref``); with ``slice``, only that slice's.
    """
    __tracebackhide__ = True
    run = _require_run(run, "run")
    keys = _metric_keys(metrics)
    _check_stage(stage)
    _check_slice(slice)
    results = []
    for key in keys:
        lookup = find_metric(run, key, stage, slice=slice)
        label = _label(key, slice)
        detail = f"{label} = {_number(lookup.value)} ({lookup.scope})" if lookup.problem is None else \
            f"{label}: {lookup.problem}"
        results.append(CheckResult(kind="metrics_present", run_ref=run.ref, passed=lookup.problem is None,
                                   metric=key, stage=stage, slice=slice, candidate_value=lookup.value,
                                   detail=detail))
    missing = [r.detail for r in results if not r.passed]
    message = "\n".join([f"{run.ref} lacks {len(missing)} required metric(s){_where(stage, slice)}:",
                         *(f"  {line}" for line in missing)])
    _fail_unless(results, message)


class Comparison(NamedTuple):
    """How a candidate value compares with a baseline value under a direction and limits."""

    passed: bool
    change_abs: float
    change_rel: float | None
    limit: str


def compare(baseline: float, candidate: float, direction: str,
            max_drop: float | None, max_abs_drop: float | None) -> Comparison:
    """Decide whether ``candidate`` is no worse than ``baseline`` allows.

    Worsening is a fall for higher-is-better metrics and a rise for lower-is-better ones;
    ``max_drop`` bounds it relative to ``|baseline|``, ``max_abs_drop`` in the metric's units.
    With a baseline of 0 any worsening breaks a relative limit.
    """
    change = candidate - baseline
    worsening = -change if direction == "higher" else change
    relative = None if baseline == 0 else change / abs(baseline)
    limits, passed = [], True
    if max_drop is not None:
        worse_rel = (worsening / abs(baseline)) if baseline != 0 else (math.inf if worsening > 0 else 0.0)
        passed &= worse_rel <= max_drop + _TOLERANCE
        limits.append(f"worse by at most {max_drop:.2%}")
    if max_abs_drop is not None:
        passed &= worsening <= max_abs_drop + _TOLERANCE * max(1.0, abs(baseline))
        limits.append(f"worse by at most {max_abs_drop:g}")
    return Comparison(passed, change, relative, " and ".join(limits))


def _change_text(comparison: Comparison) -> str:
    relative = "n/a: baseline is 0" if comparison.change_rel is None else f"{comparison.change_rel:+.2%}"
    return f"{comparison.change_abs:+.6g} ({relative})"


class _Verdict(NamedTuple):
    result: CheckResult
    line: str


def _regression_verdict(candidate: ContextaRun, baseline: ContextaRun, key: str, stage: str | None,
                        slice: str | None, direction: ResolvedDirection, max_drop: float | None,
                        max_abs_drop: float | None) -> _Verdict:
    mine, theirs = find_metric(candidate, key, stage, slice=slice), find_metric(baseline, key, stage, slice=slice)
    label = _label(key, slice)
    common: dict[str, Any] = {
        "kind": "regression", "run_ref": candidate.ref, "metric": key, "stage": stage, "slice": slice,
        "baseline_ref": baseline.ref, "candidate_value": mine.value, "baseline_value": theirs.value,
        "direction": str(direction),
    }
    problems = [f"{side}: {lookup.problem}" for side, lookup in (("candidate", mine), ("baseline", theirs))
                if lookup.problem]
    if problems:
        detail = f"{label}: cannot compare ({'; '.join(problems)})"
        return _Verdict(CheckResult(passed=False, detail=detail, **common), f"  {detail}")
    assert mine.value is not None and theirs.value is not None
    outcome = compare(theirs.value, mine.value, direction.direction, max_drop, max_abs_drop)
    detail = (f"{label}: {_number(theirs.value)} -> {_number(mine.value)}, change {_change_text(outcome)}, "
              f"{direction}; allowed: {outcome.limit}")
    result = CheckResult(passed=outcome.passed, detail=detail, change_abs=outcome.change_abs,
                         change_rel=outcome.change_rel, limit=outcome.limit, **common)
    return _Verdict(result, f"  {'ok  ' if outcome.passed else 'FAIL'} {detail}")


def assert_no_regression(
    candidate: ContextaRun,
    baseline: ContextaRun,
    metrics: str | Iterable[str],
    *,
    stage: str | None = None,
    slice: str | None = None,
    max_drop: float | None = 0.02,
    max_abs_drop: float | None = None,
    direction: DirectionArgument = None,
) -> None:
    """Fail when a metric got worse than allowed against the baseline, or cannot be compared.

    ``max_drop`` is the allowed relative worsening (0.02 = 2 %), ``max_abs_drop`` an absolute one;
    when both are given both must hold. ``direction`` is ``"higher"``, ``"lower"`` or a mapping per
    metric; otherwise the ini patterns, then the built-in lower-is-better names, decide. Both runs'
    overall values are compared, or with ``slice`` the values of that slice.
    """
    __tracebackhide__ = True
    candidate = _require_run(candidate, "candidate")
    baseline = _require_run(baseline, "baseline")
    if candidate.ref == baseline.ref:
        raise CheckArgumentError(f"candidate and baseline are the same run ({candidate.ref})")
    keys = _metric_keys(metrics)
    _check_stage(stage)
    _check_slice(slice)
    _check_limit("max_drop", max_drop)
    _check_limit("max_abs_drop", max_abs_drop)
    if max_drop is None and max_abs_drop is None:
        raise CheckArgumentError("give max_drop, max_abs_drop or both: without a limit nothing can regress")
    check_direction_argument(direction)
    context = checks.current()
    verdicts = [
        _regression_verdict(candidate, baseline, key, stage, slice,
                            resolve_direction(key, direction, context.lower_is_better, context.higher_is_better),
                            max_drop, max_abs_drop)
        for key in keys
    ]
    why = context.baseline_reasons.get(baseline.ref)
    header = f"{candidate.ref} vs baseline {baseline.ref}{f' ({why})' if why else ''}{_where(stage, slice)}:"
    _fail_unless([v.result for v in verdicts], "\n".join([header, *(v.line for v in verdicts)]))


def assert_metric_threshold(
    run: ContextaRun,
    metric: str,
    *,
    at_least: float | None = None,
    at_most: float | None = None,
    stage: str | None = None,
    slice: str | None = None,
) -> None:
    """Fail unless the metric's value lies within the absolute floor ``at_least`` and ceiling ``at_most``.

    The overall value is checked, or with ``slice`` the value of that slice.
    """
    __tracebackhide__ = True
    run = _require_run(run, "run")
    (key,) = _metric_keys([metric])
    _check_stage(stage)
    _check_slice(slice)
    for name, bound in (("at_least", at_least), ("at_most", at_most)):
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, (int, float))
                                  or not math.isfinite(bound)):
            raise CheckArgumentError(f"{name} must be a finite number, not {bound!r}")
    if at_least is None and at_most is None:
        raise CheckArgumentError("give at_least, at_most or both")
    if at_least is not None and at_most is not None and at_least > at_most:
        raise CheckArgumentError(f"at_least ({at_least}) is above at_most ({at_most})")
    bounds = [f">= {at_least:g}"] if at_least is not None else []
    bounds += [f"<= {at_most:g}"] if at_most is not None else []
    limit = " and ".join(bounds)
    lookup = find_metric(run, key, stage, slice=slice)
    value, label = lookup.value, _label(key, slice)
    if lookup.problem is not None or value is None:
        passed, detail = False, f"{label}: {lookup.problem}"
    else:
        passed = (at_least is None or value >= at_least) and (at_most is None or value <= at_most)
        detail = f"{label} = {_number(value)} ({lookup.scope}); required {limit}"
    result = CheckResult(kind="threshold", run_ref=run.ref, passed=passed, metric=key, stage=stage, slice=slice,
                         candidate_value=value, limit=limit, detail=detail)
    _fail_unless([result], f"{run.ref}{_where(stage, slice)}: {detail}")
