"""One metric of a regression check: compare candidate and baseline under a direction and limits."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from .direction import ResolvedDirection, how_to_declare
from .metrics import find_metric
from .models import ContextaRun
from .results import CheckResult

_TOLERANCE = 1e-12


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
    passed = True
    if max_drop is not None:
        worse_rel = (worsening / abs(baseline)) if baseline != 0 else (math.inf if worsening > 0 else 0.0)
        passed &= worse_rel <= max_drop + _TOLERANCE
    if max_abs_drop is not None:
        passed &= worsening <= max_abs_drop + _TOLERANCE * max(1.0, abs(baseline))
    return Comparison(passed, change, relative, limit_text(max_drop, max_abs_drop))


def limit_text(max_drop: float | None, max_abs_drop: float | None) -> str:
    """The limits as shown: ``worse by at most 2.00%`` (relative) and/or ``worse by at most 5`` (absolute)."""
    limits = [f"worse by at most {max_drop:.2%}"] if max_drop is not None else []
    limits += [f"worse by at most {max_abs_drop:g}"] if max_abs_drop is not None else []
    return " and ".join(limits)


def number(value: float | None) -> str:
    return "—" if value is None else f"{value:.6g}"


def label(key: str, slice: str | None) -> str:
    return f"{key} [{slice}]" if slice else key


def _change_text(comparison: Comparison) -> str:
    relative = "n/a: baseline is 0" if comparison.change_rel is None else f"{comparison.change_rel:+.2%}"
    return f"{comparison.change_abs:+.6g} ({relative})"


class Verdict(NamedTuple):
    result: CheckResult
    line: str


def regression_verdict(candidate: ContextaRun, baseline: ContextaRun, key: str, stage: str | None,
                       slice: str | None, direction: ResolvedDirection, max_drop: float | None,
                       max_abs_drop: float | None, accept_incomplete: bool) -> Verdict:
    """The verdict on one metric; it fails when the metric cannot be compared or its direction is unknown."""
    mine = find_metric(candidate, key, stage, slice=slice, accept_incomplete=accept_incomplete)
    theirs = find_metric(baseline, key, stage, slice=slice, accept_incomplete=accept_incomplete)
    name = label(key, slice)
    common: dict[str, Any] = {
        "kind": "regression", "run_ref": candidate.ref, "metric": key, "stage": stage, "slice": slice,
        "baseline_ref": baseline.ref, "candidate_value": mine.value, "baseline_value": theirs.value,
        "direction": str(direction), "limit": limit_text(max_drop, max_abs_drop),
        "value_source": mine.source if mine.record is not None else None,
    }
    problems = [f"{side}: {lookup.problem}" for side, lookup in (("candidate", mine), ("baseline", theirs))
                if lookup.problem]
    if direction.direction is None:
        problems.append(f"{direction}; {how_to_declare(key)}")
    if problems:
        detail = f"{name}: cannot compare ({'; '.join(problems)})"
        return Verdict(CheckResult(passed=False, detail=detail, **common), f"  {detail}")
    assert mine.value is not None and theirs.value is not None and direction.direction is not None
    outcome = compare(theirs.value, mine.value, direction.direction, max_drop, max_abs_drop)
    sources = (f"values from {mine.source}" if mine.source == theirs.source
               else f"candidate value from {mine.source}, baseline value from {theirs.source}")
    detail = (f"{name}: {number(theirs.value)} -> {number(mine.value)}, change {_change_text(outcome)}, "
              f"{direction}; allowed: {outcome.limit}; {sources}")
    result = CheckResult(passed=outcome.passed, detail=detail, change_abs=outcome.change_abs,
                         change_rel=outcome.change_rel, **common)
    return Verdict(result, f"  {'ok  ' if outcome.passed else 'FAIL'} {detail}")
