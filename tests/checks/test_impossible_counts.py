"""Issue 22 item 2: impossible sample counts, and slices ``min_n`` skipped, never pass silently.

A slice sweep with ``min_n=30`` skipped a regressed slice when the candidate's ``<key>.n`` was ``-1000`` or ``0.3``,
and the gate passed with no word. Runs: ``search-ranker.seeds-within-noise`` (candidate) and ``release-5``
(baseline) of the example workspace log ``recall`` per ``segment.*`` slice with ``recall.n`` (``segment.rare``: 11).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conftest import EXAMPLE_WORKSPACE, run_checks
from pytest_contexta import ContextaRun, Workspace, assert_metric_threshold, assert_no_regression
from pytest_contexta.checks.results import CheckResult
from pytest_contexta.outputs.explain import explain
from pytest_contexta.outputs.html_report import html_page
from pytest_contexta.outputs.summary import markdown_table, terminal_lines
from pytest_contexta.verdict.decide import decide
from pytest_contexta.verdict.facts import CheckOutcome, GateFacts

SLICE = "segment.card_present"


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, ContextaRun]]:
    workspace = Workspace(EXAMPLE_WORKSPACE)
    try:
        yield {name: workspace.load_run(f"run:search-ranker.{name}") for name in ("release-5", "seeds-within-noise")}
    finally:
        workspace.close()


def _edited(run: ContextaRun, values: dict[str, float], slice: str = SLICE) -> ContextaRun:
    """The run with the ``slice`` records of the keys in ``values`` holding those values instead."""
    records = [
        record.model_copy(update={"value": values[record.key]})
        if getattr(record, "slice_ref", None) == slice and record.key in values
        else record
        for record in run.records
    ]
    return run.model_copy(update={"records": records})


def _regressed(runs: dict[str, ContextaRun], n: float) -> ContextaRun:
    """The candidate with ``segment.card_present`` recall far below the baseline's, and its ``recall.n`` as given."""
    return _edited(runs["seeds-within-noise"], {"recall": 0.1, "recall.n": n})


@pytest.mark.parametrize("n", [-1000, 0.3, -0.0001, 29.5])
def test_an_impossible_count_fails_the_slice_naming_its_record(runs: dict[str, ContextaRun], n: float) -> None:
    candidate = _regressed(runs, n)
    results, messages = run_checks(
        [lambda: assert_no_regression(candidate, runs["release-5"], "recall", slice="segment.*", min_n=30)]
    )
    row = next(r for r in results if r.slice == SLICE)
    assert row.outcome == "failed"
    record = next(r for r in candidate.metrics_with_key("recall.n") if r.slice_ref == SLICE)
    assert row.detail == (
        f"recall [{SLICE}]: recall.n must be a non-negative whole number of examples, but record {record.ref} "
        f"({record.location}) holds {n:g}; fix the count the run logs"
    )
    assert len(messages) == 1 and record.ref in messages[0]


@pytest.mark.parametrize("n", [-1000, 0.3])
def test_an_impossible_count_fails_a_threshold_sweep_too(runs: dict[str, ContextaRun], n: float) -> None:
    candidate = _regressed(runs, n)
    results, messages = run_checks(
        [lambda: assert_metric_threshold(candidate, "recall", at_least=0.5, slice="segment.*", min_n=30)]
    )
    assert [(r.slice, r.outcome) for r in results if r.outcome == "failed"] == [(SLICE, "failed")]
    assert "must be a non-negative whole number" in messages[0]


@pytest.mark.parametrize("n", [400.0, 400, 0.0])
def test_a_whole_count_written_as_a_float_is_a_count(runs: dict[str, ContextaRun], n: float) -> None:
    """400.0 is 400 examples; 0 is a count too (below min_n, so skipped)."""
    candidate = _edited(runs["seeds-within-noise"], {"recall.n": n})
    results, messages = run_checks(
        [lambda: assert_no_regression(candidate, runs["release-5"], "recall", slice="segment.*", min_n=30)]
    )
    row = next(r for r in results if r.slice == SLICE)
    assert (row.outcome, messages) == ("passed" if n else "skipped", [])


def test_every_slice_skipped_is_not_a_pass(runs: dict[str, ContextaRun]) -> None:
    candidate = runs["seeds-within-noise"]
    results, messages = run_checks(
        [
            lambda: assert_no_regression(candidate, runs["release-5"], "recall", slice="segment.*", min_n=10_000),
            lambda: assert_metric_threshold(candidate, "recall", at_least=0.1, slice="segment.*", min_n=10_000),
            lambda: assert_metric_threshold(candidate, "recall", at_least=0.1, slice="segment.rare", min_n=30),
        ]
    )
    assert [r.outcome for r in results] == (["skipped"] * 3 + ["failed"]) * 2 + ["skipped", "failed"]
    assert results[3].detail == (
        "recall: min_n=10000 skipped every slice matching 'segment.*' (3 of 3), so nothing was checked; "
        "log more examples or lower min_n"
    )
    assert results[-1].detail == (
        "recall: min_n=30 skipped slice 'segment.rare' (1 of 1), so nothing was checked; log more examples or lower "
        "min_n"
    )
    assert len(messages) == 3 and all("so nothing was checked" in m for m in messages)


def _facts(results: list[CheckResult], fail_on: str = "failure") -> GateFacts:
    ref = results[0].run_ref
    nodeid = f"gate.py::test_recall[{ref}]"
    outcome = CheckOutcome(
        nodeid, ref, {"setup": "passed", "call": "passed", "teardown": "passed"}, results=tuple(results)
    )
    return GateFacts(
        workspace="/ws",
        created_at="2026-01-01T00:00:00Z",
        exit_status=0,
        candidates=[ref],
        selected={nodeid: ref},
        outcomes={nodeid: outcome},
        today="2026-01-01",
        fail_on=fail_on,  # type: ignore[arg-type]
    )


def test_a_skipped_slice_is_a_warning_in_every_output(runs: dict[str, ContextaRun]) -> None:
    results, messages = run_checks(
        [
            lambda: assert_no_regression(
                runs["seeds-within-noise"], runs["release-5"], "recall", slice="segment.*", min_n=30
            )
        ]
    )
    assert messages == [] and [r.outcome for r in results].count("skipped") == 1
    report = decide(_facts(results))
    candidate = report.candidates[0]
    assert (report.verdict, candidate.verdict, report.exit_status) == ("pass-with-warnings",) * 2 + (0,)
    warning = (
        "NOT CHECKED in gate.py::test_recall[run:search-ranker.seeds-within-noise]: "
        "recall [segment.rare]: skipped, 11 examples < min_n=30"
    )
    assert candidate.warnings == [warning]
    assert "GATE PASSED WITH WARNINGS" in "\n".join(terminal_lines(report, width=200))
    assert "NOT CHECKED in" in "\n".join(terminal_lines(report, width=200))
    assert f"**Warnings:** {warning}" in markdown_table(report)
    assert f"  warning: {warning}" in explain(report)
    assert "NOT CHECKED in" in html_page(report)
    assert "NOT CHECKED in" in report.model_dump_json()


def test_a_skipped_slice_fails_under_fail_on_warning(runs: dict[str, ContextaRun]) -> None:
    results, _ = run_checks(
        [
            lambda: assert_no_regression(
                runs["seeds-within-noise"], runs["release-5"], "recall", slice="segment.*", min_n=30
            )
        ]
    )
    report = decide(_facts(results, fail_on="warning"))
    assert (report.verdict, report.exit_status) == ("fail", 1)
    assert "min_n skipped 1 slice(s), so they were not checked, and --contexta-fail-on is warning" in (
        report.candidates[0].reasons
    )
