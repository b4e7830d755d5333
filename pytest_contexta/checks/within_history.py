"""``assert_within_history``: a value must not be worse than the history's median by more than k robust SDs."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..runs.metrics import Selection, find_metric
from ..runs.models import ContextaRun
from . import results as recorded
from .arguments import check_k, check_slice, check_stage, check_tags, metric_keys, require_run
from .asserts import fail_unless
from .direction import DirectionArgument, check_direction_argument, how_to_declare, resolve_direction
from .direction_names import unknown_names, with_unknown_names
from .noise import MIN_HISTORY, history_values
from .regression import label, number
from .results import CheckResult
from .stats import robust_center


def assert_within_history(
    run: ContextaRun,
    history: Sequence[ContextaRun],
    metric: str,
    *,
    k: float = 3.0,
    stage: str | None = None,
    slice: str | None = None,
    tags: Mapping[str, str] | None = None,
    direction: DirectionArgument = None,
    accept_incomplete: bool = False,
) -> None:
    """Fail when ``metric`` is worse than the median of the ``history`` runs' values by more than ``k``
    robust standard deviations (1.4826 × the median absolute deviation). Fewer than 3 usable history
    values (the run itself never counts) make the check INCONCLUSIVE, which fails closed by default.
    """
    __tracebackhide__ = True
    run = require_run(run, "run")
    runs = [require_run(other, "history run") for other in history]
    (key,) = metric_keys([metric])
    check_stage(stage)
    check_slice(slice)
    k = check_k(k)
    check_direction_argument(direction)
    context = recorded.current()
    selection = Selection(check_tags(tags), context.replicate_tags)
    resolved = resolve_direction(key, direction, context.lower_is_better, context.higher_is_better)
    lookup = find_metric(run, key, stage, slice=slice, accept_incomplete=accept_incomplete, selection=selection)
    values = history_values(runs, run.ref, key, stage, slice, selection)
    name = label(key, slice)
    common: dict[str, Any] = {
        "kind": "history",
        "run_ref": run.ref,
        "metric": key,
        "stage": stage,
        "slice": slice,
        "candidate_value": lookup.value,
        "direction": str(resolved),
        "baseline_n": len(values),
        "limit": f"worse than the history median by at most {k:g} robust SD",
        "value_source": lookup.source if lookup.record is not None else None,
    }
    problems = [lookup.problem] if lookup.problem else []
    problems += [f"{resolved}; {how_to_declare(key)}"] if resolved.direction is None else []
    if problems:
        result = CheckResult(passed=False, detail=f"{name}: cannot compare ({'; '.join(problems)})", **common)
    elif len(values) < MIN_HISTORY:
        result = CheckResult(
            outcome="inconclusive",
            passed=False,
            **common,
            detail=(
                f"{name}: INCONCLUSIVE, {len(values)} usable value{'' if len(values) == 1 else 's'} in "
                f"{len(runs)} history run{'' if len(runs) == 1 else 's'}; at least {MIN_HISTORY} are needed"
            ),
        )
    else:
        result = _verdict(name, lookup.value, values, k, resolved.direction == "higher", common)
    chosen_by = getattr(history, "chosen_by", None)
    if chosen_by:
        result = result.model_copy(update={"detail": f"{result.detail}; history: {chosen_by}"})
    unknown = unknown_names(direction, [key], [run, *runs])
    fail_unless(
        with_unknown_names([result], unknown),
        f"{run.ref}{' in stage ' + repr(stage) if stage else ''}: {result.detail}",
    )


def _verdict(
    name: str, value: float | None, values: list[float], k: float, higher: bool, common: dict[str, Any]
) -> CheckResult:
    assert value is not None
    center, robust = robust_center(values)
    worsening = center - value if higher else value - center
    allowed = k * robust
    passed = worsening <= allowed + 1e-12 * max(1.0, abs(center))
    score = worsening / robust if robust > 0 else (math.inf if worsening > 0 else 0.0)
    flat = "; the history has no spread (MAD 0), so any worsening fails" if robust == 0 else ""
    detail = (
        f"{name} = {number(value)}; history median {number(center)} of {len(values)} runs, robust SD "
        f"{robust:.3g} (1.4826·MAD); {'worse' if worsening > 0 else 'not worse'} by {abs(worsening):.3g} "
        f"= {score:.2f} robust SD; allowed at most {k:g} ({allowed:.3g}){flat}; {common['direction']}"
    )
    return CheckResult(
        passed=passed,
        detail=detail,
        baseline_value=center,
        change_abs=value - center,
        allowed_low=center - allowed if higher else None,
        allowed_high=None if higher else center + allowed,
        **common,
    )
