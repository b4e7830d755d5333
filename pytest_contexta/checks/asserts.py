"""Assertion helpers for gate checks. Each failure names the run, the check, the numbers and where they came from."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from ..errors import CheckArgumentError
from ..runs.metrics import Selection, find_metric
from ..runs.models import ContextaRun, Diagnostic
from ..text import printable
from . import results as recorded
from .arguments import (
    check_confidence,
    check_limits,
    check_min_n,
    check_slice,
    check_stage,
    check_tags,
    metric_keys,
    require_run,
)
from .direction import DirectionArgument, ResolvedDirection, check_direction_argument, resolve_direction
from .direction_names import unknown_names, with_unknown_names
from .regression import ComparisonVerdict, Question, assess, judge_comparisons, label, number
from .results import CheckResult
from .sweeps import all_skipped_row, check_slice_argument, no_slice_row, size_row, slices_of
from .units import find_units


class GateCheckFailed(AssertionError):
    """A gate check found the run not fit to deploy."""


# Shown in every failure traceback and JUnit message: the public name, short (pytest cuts a JUnit message at 500
# characters, and a longer module path pushed some FAIL lines past it).
GateCheckFailed.__module__ = "pytest_contexta"


INCONCLUSIVE_NOTE = (
    "INCONCLUSIVE: the interval of the change straddles the limit, so the data cannot tell "
    "whether it holds; an inconclusive check fails closed. More replicates (a smaller MDE) "
    "can decide it."
)


def fail_unless(results: list[CheckResult], message: str, advisory: bool = False) -> None:
    """Record ``results``; fail when one failed, or is inconclusive while inconclusive checks fail (the default).

    An advisory call records them as advisory and never raises: not passing is a warning.
    """
    __tracebackhide__ = True
    context = recorded.current()
    context.results.extend(r.model_copy(update={"advisory": True}) if advisory else r for r in results)
    if advisory:
        return
    if any(r.outcome == "failed" or (r.outcome == "inconclusive" and context.inconclusive_fails) for r in results):
        raise GateCheckFailed(message)


def tag_selection(tags: Mapping[str, str] | None) -> Selection:
    __tracebackhide__ = True
    return Selection(check_tags(tags), recorded.current().replicate_tags)


def scope_text(stage: str | None, slice: str | None) -> str:
    return (f" in stage {stage!r}" if stage else "") + (f" for slice {slice!r}" if slice else "")


def assert_no_error_diagnostics(run: ContextaRun, *, ignore: Iterable[str] = (), advisory: bool = False) -> None:
    """Fail when the run has an error-severity diagnostic whose code is not in ``ignore``.

    Error and critical events of the run are error diagnostics (code ``error_event``), waivable like any other;
    every ``ignore=`` use is listed in the verdict. ``advisory=True`` (all helpers): a failure is only a warning.
    """
    __tracebackhide__ = True
    run = require_run(run, "run")
    waived = _waived_codes(ignore)
    errors = [d for d in run.diagnostics if d.severity == "error" and d.code not in waived]
    result = CheckResult(
        kind="diagnostics",
        run_ref=run.ref,
        passed=not errors,
        detail=_diagnostics_detail(run, errors, waived),
        ignored=sorted(waived) or None,
    )
    fail_unless([result], _diagnostics_message(run, errors), advisory)


def _waived_codes(ignore: Iterable[str]) -> set[str]:
    __tracebackhide__ = True
    if ignore is None or not isinstance(ignore, (str, Iterable)):
        raise CheckArgumentError(f"ignore must be a diagnostic code or a list of codes, not {ignore!r}")
    return {ignore} if isinstance(ignore, str) else set(ignore)


def _diagnostics_detail(run: ContextaRun, errors: list[Diagnostic], waived: set[str]) -> str:
    """The errors' codes and summaries; without errors, how many warnings, infos and waived errors there are."""
    if errors:
        return "; ".join(f"{d.code}: {d.summary}" for d in errors)
    waived_count = sum(d.severity == "error" and d.code in waived for d in run.diagnostics)
    waived_note = f", {waived_count} error(s) waived" if waived_count else ""
    warnings = sum(d.severity == "warning" for d in run.diagnostics)
    infos = sum(d.severity == "info" for d in run.diagnostics)
    return f"no error diagnostics ({warnings} warning, {infos} info{waived_note})"


def _diagnostics_message(run: ContextaRun, errors: list[Diagnostic]) -> str:
    lines = [f"{run.ref} has {len(errors)} error diagnostic(s):"]
    for d in errors:
        stricter = f"; Contexta says {d.contexta_severity}" if d.contexta_severity not in (None, d.severity) else ""
        lines.append(f"  {d.code} [{printable(str(d.subject_ref))}]{stricter}: {printable(d.summary)}")
    lines.append("Waive a code only when it is known to be harmless: assert_no_error_diagnostics(run, ignore=[...])")
    return "\n".join(lines)


def assert_metrics_present(
    run: ContextaRun,
    metrics: str | Iterable[str],
    *,
    stage: str | None = None,
    slice: str | None = None,
    samples: str | None = None,
    batches: str | None = None,
    accept_incomplete: bool = False,
    tags: Mapping[str, str] | None = None,
    advisory: bool = False,
) -> None:
    """Fail unless every metric has a usable value; with ``stage``, only values recorded in that stage count.

    Only complete overall values count (records without a ``slice_ref`` or a sample); with ``slice``, only
    that slice's. ``samples="*"`` (or a name pattern) checks the value of every matching sample instead,
    ``batches=`` every batch's; ``accept_incomplete=True`` accepts values marked partial, unknown or degraded.
    ``tags={...}`` chooses one series of a metric logged with several.
    """
    __tracebackhide__ = True
    run = require_run(run, "run")
    keys = metric_keys(metrics)
    check_stage(stage)
    check_slice(slice)
    selection = tag_selection(tags)
    results = []
    for key in keys:
        common: dict[str, Any] = {
            "kind": "metrics_present",
            "run_ref": run.ref,
            "metric": key,
            "stage": stage,
            "slice": slice,
        }
        units = find_units(run, key, stage, slice, samples, batches, accept_incomplete, selection)
        if units is None:
            lookup = find_metric(run, key, stage, slice=slice, accept_incomplete=accept_incomplete, selection=selection)
            detail = (
                f"{label(key, slice)} = {number(lookup.value)} ({lookup.source})"
                if lookup.problem is None
                else f"{label(key, slice)}: {lookup.problem}"
            )
            results.append(
                CheckResult(
                    passed=lookup.problem is None,
                    candidate_value=lookup.value,
                    detail=detail,
                    value_source=lookup.source if lookup.record else None,
                    **common,
                )
            )
            continue
        asked, found = units
        for unit in found:
            if unit.lookup.problem is not None:
                results.append(
                    CheckResult(
                        passed=False,
                        detail=f"{label(key, slice)} [{unit.kind} {unit.name}]: {unit.lookup.problem}",
                        **unit.fields(),
                        **common,
                    )
                )
        usable = sum(unit.lookup.problem is None for unit in found)
        results.append(
            CheckResult(
                passed=bool(found) and usable == len(found),
                **common,
                detail=(
                    f"{label(key, slice)}: usable values for {usable} of {len(found)} {asked}"
                    if found
                    else f"{label(key, slice)}: no {asked} hold it"
                ),
            )
        )
    missing = [r.detail for r in results if not r.passed]
    message = "\n".join(
        [
            f"{run.ref} lacks {len(missing)} required metric(s){scope_text(stage, slice)}:",
            *(f"  {line}" for line in missing),
        ]
    )
    fail_unless(results, message, advisory)


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
    accept_incomplete: bool = False,
    tags: Mapping[str, str] | None = None,
    confidence: float | None = 0.95,
    history: Sequence[ContextaRun] | None = None,
    min_n: int | None = None,
    correction: Literal["holm", "bh"] = "holm",
    advisory: bool = False,
) -> None:
    """Fail when a metric got worse than allowed against the baseline, cannot be compared, or has no known direction.

    ``max_drop`` is the allowed relative worsening, a fraction below 1: ``max_drop=0.02`` allows 2 %
    (0.9 -> 0.882 for accuracy). ``max_abs_drop`` is in the metric's units: ``max_abs_drop=5`` allows
    latency 40 -> 45 ms. When both are given both must hold; ``max_drop=None`` uses only
    ``max_abs_drop``. ``direction`` is ``"higher"``, ``"lower"`` or a mapping for some of the checked
    metrics; otherwise the ini patterns, then the built-in vocabulary decide, and a metric none of them
    decides fails. Both runs' complete overall values are compared, or with ``slice`` that slice's;
    a pattern (``slice="segment.*"``) checks every matching slice, skipping those with fewer than
    ``min_n`` examples (``<key>.n``).

    With ``confidence`` (default 0.95; ``None`` compares points) the change gets an interval from
    replicates, ``<key>.stderr`` records or the ``history`` runs' spread: the check passes when the
    whole interval is within the limit, fails when it is wholly beyond, and is INCONCLUSIVE otherwise.
    A slice sweep corrects its FAIL calls for multiple testing (``correction="holm"`` or ``"bh"``).
    """
    __tracebackhide__ = True
    candidate = require_run(candidate, "candidate")
    baseline = require_run(baseline, "baseline")
    if candidate.ref == baseline.ref:
        raise CheckArgumentError(f"candidate and baseline are the same run ({candidate.ref})")
    keys = metric_keys(metrics)
    check_stage(stage)
    check_slice_argument(slice)
    check_limits(max_drop, max_abs_drop)
    check_direction_argument(direction)
    if correction not in ("holm", "bh"):
        raise CheckArgumentError(f"correction must be 'holm' or 'bh', not {correction!r}")
    context = recorded.current()
    history = context.history if history is None else tuple(require_run(run, "history run") for run in history)
    question = Question(
        candidate,
        baseline,
        stage,
        max_drop,
        max_abs_drop,
        accept_incomplete,
        tag_selection(tags),
        check_confidence(confidence),
        history,
    )
    min_n = check_min_n(min_n)
    verdicts: list[ComparisonVerdict] = []
    for key in keys:
        resolved = resolve_direction(key, direction, context.lower_is_better, context.higher_is_better)
        verdicts += _metric_verdicts(question, key, slice, resolved, min_n, correction)
    why = context.baseline_reasons.get(baseline.ref)
    results = with_unknown_names([v.result for v in verdicts], unknown_names(direction, keys, (candidate, baseline)))
    fail_unless(results, _regression_message(question, slice, why, verdicts), advisory)


def _metric_verdicts(
    question: Question, key: str, slice: str | None, direction: ResolvedDirection, min_n: int | None, correction: str
) -> list[ComparisonVerdict]:
    """One metric's verdicts: a skip (or FAIL) for each slice too small to judge, the other slices decided as one
    family, and a FAIL when no slice matches."""
    candidate, stage = question.candidate, question.stage
    common = {"kind": "regression", "run_ref": candidate.ref, "stage": stage, "baseline_ref": question.baseline.ref}
    slices = slices_of((candidate, question.baseline), key, stage, slice)
    sized = {s: size_row(candidate, key, stage, s, question.selection, min_n, common) for s in slices}
    verdicts = [
        ComparisonVerdict(row, f"  {'skip' if row.passed else 'FAIL'} {row.detail}")
        for row in sized.values()
        if row is not None
    ]
    verdicts += judge_comparisons(
        [assess(question, key, s, direction) for s in slices if sized[s] is None], question.confidence, correction
    )
    nothing = (
        no_slice_row(key, slice, common)
        if not slices
        else all_skipped_row(key, slice, [v.result for v in verdicts], min_n)
    )
    if nothing is not None:
        verdicts.append(ComparisonVerdict(nothing, f"  FAIL {nothing.detail}"))
    return verdicts


def _regression_message(
    question: Question, slice: str | None, why: str | None, verdicts: list[ComparisonVerdict]
) -> str:
    """The header (the baseline and why it was chosen), every verdict's line, and the note on INCONCLUSIVE ones."""
    header = (
        f"{question.candidate.ref} vs baseline {question.baseline.ref}{f' ({why})' if why else ''}"
        f"{scope_text(question.stage, slice)}:"
    )
    undecided = any(v.result.outcome == "inconclusive" for v in verdicts)
    return "\n".join([header, *(v.line for v in verdicts), *([INCONCLUSIVE_NOTE] if undecided else [])])
