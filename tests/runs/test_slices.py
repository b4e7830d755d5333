"""Sliced metrics: checks use a metric's overall value unless ``slice=`` names one slice.

``conformance``'s ``fraud-model.retrain`` logs ``recall`` in evaluate twice at the same time: overall
0.81, then for slice ``segment.card_present`` 0.74 (appended last). ``fraud-model.baseline`` logs
only an overall recall of 0.8. See tests/workspaces/generate.py.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator

import pytest

from conftest import WORKSPACES
from pytest_contexta import (
    CheckArgumentError,
    ContextaRun,
    GateCheckFailed,
    Workspace,
    assert_metric_threshold,
    assert_metrics_present,
    assert_no_regression,
    find_metric,
)
from pytest_contexta.checks.results import CheckResult
from pytest_contexta.verdict.report import ReportCheck

CONFORMANCE = WORKSPACES / "conformance"
SLICE = "segment.card_present"


@pytest.fixture(scope="module")
def fraud() -> Iterator[dict[str, ContextaRun]]:
    workspace = Workspace(CONFORMANCE)
    try:
        yield {name: workspace.load_run(f"run:fraud-model.{name}") for name in ("baseline", "retrain")}
    finally:
        workspace.close()


def without_overall_recall(run: ContextaRun) -> ContextaRun:
    """The run as read, minus its overall recall record: recall is then only logged per slice."""
    overall = [m for m in run.metrics if m.key == "recall" and m.slice_ref is None]
    kept = tuple(r for r in run.records if r not in overall)
    assert len(overall) == 1 and len(kept) == len(run.records) - 1
    return run.model_copy(update={"records": kept})


# -- find_metric ------------------------------------------------------------------------------------


def test_lookup_takes_the_overall_value_though_a_slice_was_logged_last(fraud: dict[str, ContextaRun]) -> None:
    run = fraud["retrain"]
    last = max((m for m in run.metrics if m.key == "recall"), key=lambda m: m.sequence)
    assert (last.slice_ref, last.value) == (SLICE, 0.74)
    for stage in ("evaluate", None):
        found = find_metric(run, "recall", stage)
        assert found.record is not None and (found.value, found.record.slice_ref, found.scope) == (
            0.81,
            None,
            "evaluate",
        )


def test_lookup_of_one_slice(fraud: dict[str, ContextaRun]) -> None:
    found = find_metric(fraud["retrain"], "recall", "evaluate", slice=SLICE)
    assert found.record is not None and (found.value, found.record.slice_ref) == (0.74, SLICE)
    assert find_metric(fraud["retrain"], "recall", slice=SLICE).value == 0.74


def test_lookup_of_a_slice_that_was_not_logged(fraud: dict[str, ContextaRun]) -> None:
    found = find_metric(fraud["retrain"], "recall", "evaluate", slice="segment.online")
    assert found.value is None
    assert found.problem == (
        "not recorded for slice 'segment.online' in stage 'evaluate'; recorded overall and per slice "
        "(segment.card_present)"
    )
    elsewhere = find_metric(fraud["retrain"], "recall", "train", slice=SLICE)
    assert elsewhere.problem == "not recorded for slice 'segment.card_present' in stage 'train'; found in evaluate"
    assert find_metric(fraud["retrain"], "precision", slice=SLICE).problem == (
        "not recorded for slice 'segment.card_present'; recorded overall"
    )


def test_lookup_without_an_overall_value_names_the_slices(fraud: dict[str, ContextaRun]) -> None:
    run = without_overall_recall(fraud["retrain"])
    in_stage, anywhere = find_metric(run, "recall", "evaluate"), find_metric(run, "recall")
    assert (in_stage.record, in_stage.problem) == (
        None,
        "only recorded per slice (segment.card_present) in stage 'evaluate'; the overall value is missing",
    )
    assert (anywhere.record, anywhere.problem) == (
        None,
        "only recorded per slice (segment.card_present); the overall value is missing",
    )
    assert find_metric(run, "recall", "evaluate", slice=SLICE).value == 0.74


# -- the helpers ------------------------------------------------------------------------------------


def test_metrics_present_overall_and_per_slice(fraud: dict[str, ContextaRun], results: list[CheckResult]) -> None:
    assert_metrics_present(fraud["retrain"], ["recall", "precision"], stage="evaluate")
    assert_metrics_present(fraud["retrain"], "recall", stage="evaluate", slice=SLICE)
    assert [(r.metric, r.slice, r.candidate_value, r.detail) for r in results] == [
        ("recall", None, 0.81, "recall = 0.81 (evaluate)"),
        ("precision", None, 0.73, "precision = 0.73 (evaluate)"),
        ("recall", SLICE, 0.74, "recall [segment.card_present] = 0.74 (evaluate)"),
    ]


def test_metrics_present_fails_when_only_slices_were_logged(
    fraud: dict[str, ContextaRun], results: list[CheckResult]
) -> None:
    with pytest.raises(GateCheckFailed) as raised:
        assert_metrics_present(without_overall_recall(fraud["retrain"]), ["recall", "precision"], stage="evaluate")
    assert str(raised.value) == (
        "run:fraud-model.retrain lacks 1 required metric(s) in stage 'evaluate':\n"
        "  recall: only recorded per slice (segment.card_present) in stage 'evaluate'; the overall value is missing"
    )
    assert [(r.metric, r.passed, r.slice) for r in results] == [("recall", False, None), ("precision", True, None)]


def test_metrics_present_fails_for_a_slice_the_run_lacks(
    fraud: dict[str, ContextaRun], results: list[CheckResult]
) -> None:
    with pytest.raises(GateCheckFailed) as raised:
        assert_metrics_present(fraud["baseline"], "recall", stage="evaluate", slice=SLICE)
    assert str(raised.value) == (
        "run:fraud-model.baseline lacks 1 required metric(s) in stage 'evaluate' for slice 'segment.card_present':\n"
        "  recall [segment.card_present]: not recorded for slice 'segment.card_present' in stage 'evaluate'; "
        "recorded overall"
    )
    assert [(r.passed, r.slice, r.candidate_value) for r in results] == [(False, SLICE, None)]


def test_regression_compares_overall_values(fraud: dict[str, ContextaRun], results: list[CheckResult]) -> None:
    """0.8 -> 0.81 passes a 2 % limit; the slice's 0.74 (a 7.5 % drop) is not what is compared."""
    assert_no_regression(fraud["retrain"], fraud["baseline"], "recall", stage="evaluate", max_drop=0.02)
    (result,) = results
    assert (result.passed, result.slice, result.baseline_value, result.candidate_value) == (True, None, 0.8, 0.81)


def test_regression_of_a_slice_needs_the_slice_on_both_sides(
    fraud: dict[str, ContextaRun], results: list[CheckResult]
) -> None:
    with pytest.raises(GateCheckFailed) as raised:
        assert_no_regression(fraud["retrain"], fraud["baseline"], "recall", stage="evaluate", slice=SLICE)
    assert str(raised.value) == (
        "run:fraud-model.retrain vs baseline run:fraud-model.baseline in stage 'evaluate' for slice "
        "'segment.card_present':\n"
        "  recall [segment.card_present]: cannot compare (baseline: not recorded for slice 'segment.card_present' "
        "in stage 'evaluate'; recorded overall)"
    )
    (result,) = results
    assert (result.passed, result.slice, result.candidate_value, result.baseline_value) == (False, SLICE, 0.74, None)


def test_regression_without_an_overall_value_cannot_compare(
    fraud: dict[str, ContextaRun], results: list[CheckResult]
) -> None:
    with pytest.raises(
        GateCheckFailed,
        match=r"candidate: only recorded per slice \(segment\.card_present\) in stage "
        r"'evaluate'; the overall value is missing",
    ):
        assert_no_regression(without_overall_recall(fraud["retrain"]), fraud["baseline"], "recall", stage="evaluate")
    assert [(r.passed, r.candidate_value, r.baseline_value) for r in results] == [(False, None, 0.8)]


def test_threshold_overall_and_per_slice(fraud: dict[str, ContextaRun], results: list[CheckResult]) -> None:
    assert_metric_threshold(fraud["retrain"], "recall", at_least=0.8, stage="evaluate")
    assert_metric_threshold(fraud["retrain"], "recall", at_least=0.7, stage="evaluate", slice=SLICE)
    with pytest.raises(GateCheckFailed) as raised:
        assert_metric_threshold(fraud["retrain"], "recall", at_least=0.8, stage="evaluate", slice=SLICE)
    assert str(raised.value) == (
        "run:fraud-model.retrain in stage 'evaluate' for slice 'segment.card_present': "
        "recall [segment.card_present] = 0.74 (evaluate); required >= 0.8"
    )
    assert [(r.passed, r.slice, r.candidate_value) for r in results] == [
        (True, None, 0.81),
        (True, SLICE, 0.74),
        (False, SLICE, 0.74),
    ]


HELPERS: dict[str, Callable[..., None]] = {
    "metrics_present": lambda runs, slice: assert_metrics_present(runs["retrain"], "recall", slice=slice),
    "regression": lambda runs, slice: assert_no_regression(runs["retrain"], runs["baseline"], "recall", slice=slice),
    "threshold": lambda runs, slice: assert_metric_threshold(runs["retrain"], "recall", at_least=0.5, slice=slice),
}


@pytest.mark.parametrize("helper", list(HELPERS))
@pytest.mark.parametrize(
    ("slice", "hint"),
    [
        ("card-present", " (did you mean 'card_present'?)"),
        ("Segment.Card_Present", " (did you mean 'segment.card_present'?); names are lowercase, without spaces"),
        ("segment.card present", " (did you mean 'segment.card_present'?); names are lowercase, without spaces"),
        ("segment.", ""),
        ("segment..card", ""),
        ("1st_segment", ""),
        ("", ""),
        (3, ""),
    ],
)
def test_a_bad_slice_is_an_argument_error(
    fraud: dict[str, ContextaRun], results: list[CheckResult], helper: str, slice: object, hint: str
) -> None:
    with pytest.raises(CheckArgumentError) as raised:
        HELPERS[helper](fraud, slice)
    assert str(raised.value) == (
        f"slice {slice!r} cannot be a Contexta slice_ref: dot-separated parts of lowercase letters, digits and '_', "
        f"each starting with a letter (e.g. 'segment.card_present'){hint}"
    )
    assert results == []


# -- report, JUnit and the verdict table --------------------------------------------------------------


def test_a_report_check_without_slice_still_validates() -> None:
    """The field is additive: reports written before it (schema version 1) stay valid."""
    check = ReportCheck.model_validate(
        {
            "nodeid": "t.py::test",
            "outcome": "passed",
            "kind": "threshold",
            "detail": "recall = 0.81 (evaluate)",
            "metric": "recall",
        }
    )
    assert check.slice is None


@pytest.mark.slow
def test_the_slice_reaches_report_junit_and_tables(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_gate="""
        from pytest_contexta import assert_metric_threshold, assert_no_regression

        def test_recall(contexta_run, baseline_run):
            assert_no_regression(contexta_run, baseline_run, "recall", stage="evaluate")

        def test_card_present_recall(contexta_run):
            assert_metric_threshold(contexta_run, "recall", at_least=0.8, stage="evaluate",
                                    slice="segment.card_present")
    """
    )
    result = pytester.runpytest(
        f"--contexta-workspace={CONFORMANCE}",
        "--contexta-candidate=run:fraud-model.retrain",
        "--contexta-baseline=run:fraud-model.baseline",
        "--contexta-report=gate.json",
        "--contexta-markdown=gate.md",
        "--junitxml=junit.xml",
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_recall*PASS*recall @evaluate *0.81*0.8*",
            "*test_card_present_recall*FAIL*recall @evaluate [[]segment.card_present[]]*0.74*",
        ]
    )

    (candidate,) = json.loads((pytester.path / "gate.json").read_text(encoding="utf-8"))["candidates"]
    assert [(c["metric"], c["slice"], c["outcome"], c["candidate_value"]) for c in candidate["checks"]] == [
        ("recall", None, "passed", 0.81),
        ("recall", SLICE, "failed", 0.74),
    ]
    assert "| recall @evaluate [segment.card_present] |" in (pytester.path / "gate.md").read_text(encoding="utf-8")

    cases = {case.get("name"): case for case in ET.parse(pytester.path / "junit.xml").iter("testcase")}
    slices = {
        name: [p.get("value") for p in case.iter("property") if p.get("name") == "contexta.slice"]
        for name, case in cases.items()
    }
    assert slices == {
        "test_recall[run:fraud-model.retrain]": [],
        "test_card_present_recall[run:fraud-model.retrain]": [SLICE],
    }
