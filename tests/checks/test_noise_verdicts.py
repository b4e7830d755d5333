"""Noise-aware verdicts (issue 12) on the search-ranker project of the example workspace, written by the
real Contexta: replicates and series, standard errors, interval verdicts, slice sweeps, the history."""

from __future__ import annotations

import math
from collections.abc import Iterator
from statistics import fmean

import pytest

from conftest import EXAMPLE_WORKSPACE
from pytest_contexta import (
    ContextaRun,
    GateCheckFailed,
    Workspace,
    assert_metric_threshold,
    assert_metrics_present,
    assert_no_regression,
    assert_within_history,
    find_metric,
)
from pytest_contexta.checks.noise import Estimate
from pytest_contexta.checks.regression import Assessment, judge_comparisons
from pytest_contexta.checks.results import CheckContext, CheckResult, recording
from pytest_contexta.checks.stats import interval
from pytest_contexta.errors import CheckArgumentError
from pytest_contexta.runs.metrics import MetricLookup, Selection

RUNS = [
    "release-1",
    "release-2",
    "release-3",
    "release-4",
    "release-5",
    "seeds-within-noise",
    "seeds-regressed",
    "seeds-too-noisy",
    "seeds-last-fine",
]


@pytest.fixture(scope="module")
def seeded() -> Iterator[dict[str, ContextaRun]]:
    workspace = Workspace(EXAMPLE_WORKSPACE)
    try:
        yield {name: workspace.load_run(f"run:search-ranker.{name}") for name in RUNS}
    finally:
        workspace.close()


@pytest.fixture
def history(seeded: dict[str, ContextaRun]) -> list[ContextaRun]:
    return [seeded[f"release-{n}"] for n in (5, 4, 3, 2, 1)]


# -- replicates and series ---------------------------------------------------------------------


def test_records_differing_only_in_seed_form_a_sample_whose_mean_counts(seeded: dict[str, ContextaRun]) -> None:
    found = find_metric(seeded["seeds-last-fine"], "accuracy", "evaluate")
    assert found.values == (0.835, 0.832, 0.838, 0.834, 0.885)
    assert found.value == pytest.approx(0.8448)
    assert found.record is not None and found.record.value == 0.885  # the last-logged seed, which used to win
    assert found.source == "evaluate, mean of 5 seeds, sd 0.023"


def test_series_told_apart_by_another_tag_are_never_picked_silently(
    seeded: dict[str, ContextaRun], results: list[CheckResult]
) -> None:
    run = seeded["release-5"]
    assert find_metric(run, "ctr", "evaluate").problem == (
        "recorded as 2 series told apart by tags (market=eu; market=us); a check never picks one: pass "
        "tags={...} to choose, or add the tag that tells replicates apart to ini contexta_replicate_tags"
    )
    with pytest.raises(GateCheckFailed, match="market=eu; market=us"):
        assert_metrics_present(run, "ctr", stage="evaluate")
    assert_metric_threshold(run, "ctr", at_least=0.033, stage="evaluate", tags={"market": "us"})
    assert results[-1].candidate_value == 0.034


def test_replicate_tags_are_configurable(seeded: dict[str, ContextaRun]) -> None:
    run = seeded["release-5"]
    problem = find_metric(run, "accuracy", "evaluate", selection=Selection(replicate_tags=("fold",))).problem
    assert problem is not None and problem.startswith("recorded as 5 series told apart by tags (seed=1; seed=2;")
    with recording(CheckContext(replicate_tags=("fold",))), pytest.raises(GateCheckFailed, match="5 series"):
        assert_metrics_present(run, "accuracy", stage="evaluate")


def test_one_seed_can_be_chosen_with_tags(seeded: dict[str, ContextaRun]) -> None:
    found = find_metric(seeded["seeds-last-fine"], "accuracy", "evaluate", selection=Selection({"seed": "5"}))
    assert (found.value, found.values) == (0.885, (0.885,))


def test_tags_must_be_a_mapping_of_strings(seeded: dict[str, ContextaRun]) -> None:
    with pytest.raises(CheckArgumentError, match="tags must be a non-empty mapping"):
        assert_metrics_present(seeded["release-5"], "ctr", tags={"market": 1})  # type: ignore[dict-item]


# -- interval verdicts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("candidate", "outcome"),
    [
        ("seeds-within-noise", "passed"),
        ("seeds-regressed", "failed"),
        ("seeds-too-noisy", "inconclusive"),
        ("seeds-last-fine", "failed"),
    ],
)
def test_replicates_on_both_sides_give_a_welch_verdict(
    seeded: dict[str, ContextaRun], results: list[CheckResult], candidate: str, outcome: str
) -> None:
    try:
        assert_no_regression(seeded[candidate], seeded["release-5"], "accuracy", stage="evaluate")
    except GateCheckFailed as failure:
        assert outcome != "passed"
        assert ("INCONCLUSIVE: the interval of the change straddles the limit" in str(failure)) == (
            outcome == "inconclusive"
        )
    (result,) = results
    assert (result.outcome, result.passed) == (outcome, outcome == "passed")
    assert (result.noise_source, result.candidate_n, result.baseline_n, result.confidence) == (
        "replicates (Welch)",
        5,
        5,
        0.95,
    )
    assert result.change_low is not None and result.change_high is not None
    assert result.change_low < result.change_abs < result.change_high  # type: ignore[operator]
    assert f"[95% CI {result.change_low:+.6g}, {result.change_high:+.6g}]" in result.detail
    assert "n 5 vs 5, replicates (Welch), MDE " in result.detail


def test_the_point_comparison_of_the_last_seed_would_have_passed(seeded: dict[str, ContextaRun]) -> None:
    assert_no_regression(
        seeded["seeds-last-fine"],
        seeded["release-5"],
        "accuracy",
        stage="evaluate",
        tags={"seed": "5"},
        confidence=None,
    )


def test_inconclusive_passes_the_test_only_when_the_session_says_so(seeded: dict[str, ContextaRun]) -> None:
    with recording(CheckContext(inconclusive_fails=False)) as context:
        assert_no_regression(seeded["seeds-too-noisy"], seeded["release-5"], "accuracy", stage="evaluate")
    assert [r.outcome for r in context.results] == ["inconclusive"]
    assert not context.results[0].passed


def test_standard_error_records_give_a_normal_interval(
    seeded: dict[str, ContextaRun], results: list[CheckResult]
) -> None:
    assert_no_regression(seeded["seeds-within-noise"], seeded["release-5"], "ndcg", stage="evaluate")
    (result,) = results
    half = 1.959964 * math.sqrt(2) * 0.002
    assert (result.noise_source, result.candidate_n, result.outcome) == ("standard errors (normal)", 5000, "passed")
    assert (result.change_low, result.change_high) == pytest.approx((-0.003 - half, -0.003 + half), abs=1e-6)


def test_without_a_noise_estimate_the_point_comparison_decides_and_says_so(
    seeded: dict[str, ContextaRun], results: list[CheckResult]
) -> None:
    with pytest.raises(GateCheckFailed, match=r"FAIL recall \[segment.rare\]: .*; no noise estimate; values"):
        assert_no_regression(seeded["seeds-within-noise"], seeded["release-5"], "recall", slice="segment.rare")
    assert results[0].noise_source == "no noise estimate" and results[0].change_low is None


def test_history_spread_gives_an_interval_when_nothing_else_does(
    seeded: dict[str, ContextaRun], history: list[ContextaRun], results: list[CheckResult]
) -> None:
    # recall has one value per run; its history (release-1..4 log none) has too few values
    with pytest.raises(GateCheckFailed, match="no noise estimate; the history has 1 usable value, 3 are needed"):
        assert_no_regression(
            seeded["seeds-within-noise"], seeded["release-5"], "recall", slice="segment.rare", history=history
        )
    # accuracy with one chosen seed per run: the five releases' seed-1 values spread run to run
    assert_no_regression(
        seeded["seeds-within-noise"],
        seeded["release-5"],
        "accuracy",
        stage="evaluate",
        tags={"seed": "1"},
        history=history,
    )
    values = [find_metric(run, "accuracy", "evaluate", selection=Selection({"seed": "1"})).value for run in history]
    assert results[-1].noise_source == "history spread of 5 runs (t, SE = √2·s)"
    spread = interval(0.0, math.sqrt(2) * math.sqrt(sum((v - fmean(values)) ** 2 for v in values) / 4), 4, 0.95)
    assert results[-1].change_high - results[-1].change_abs == pytest.approx(spread.high)  # type: ignore[operator]


# -- slice sweeps ----------------------------------------------------------------------------------


def test_a_slice_pattern_checks_every_slice_and_min_n_skips_small_ones(
    seeded: dict[str, ContextaRun], results: list[CheckResult]
) -> None:
    assert_no_regression(seeded["seeds-within-noise"], seeded["release-5"], "recall", slice="segment.*", min_n=30)
    assert [(r.slice, r.outcome) for r in results] == [
        ("segment.rare", "skipped"),
        ("segment.card_present", "passed"),
        ("segment.online", "passed"),
    ]
    assert results[0].detail == "recall [segment.rare]: skipped, 11 examples < min_n=30"


def test_min_n_without_an_example_count_fails(seeded: dict[str, ContextaRun]) -> None:
    with pytest.raises(GateCheckFailed, match=r"min_n=5 needs the number of examples, and accuracy.n gives none"):
        assert_metric_threshold(seeded["release-5"], "accuracy", at_least=0.5, stage="evaluate", min_n=5)


def test_threshold_sweep_gives_one_row_per_slice(seeded: dict[str, ContextaRun], results: list[CheckResult]) -> None:
    with pytest.raises(GateCheckFailed) as failure:
        assert_metric_threshold(seeded["seeds-within-noise"], "recall", at_least=0.6, slice="segment.*")
    assert [(r.slice, r.passed) for r in results] == [
        ("segment.card_present", True),
        ("segment.online", True),
        ("segment.rare", False),
    ]
    assert str(failure.value).splitlines()[1:] == ["  recall [segment.rare] = 0.55 (evaluate); required >= 0.6"]


def test_a_pattern_matching_no_slice_fails(seeded: dict[str, ContextaRun]) -> None:
    with pytest.raises(GateCheckFailed, match=r"recall: no slice matches 'region\.\*'"):
        assert_metric_threshold(seeded["release-5"], "recall", at_least=0.5, slice="region.*")


def _assessment(p_beyond: float, worsening: float, lookup: MetricLookup) -> Assessment:
    change = -worsening
    found = interval(change, 0.01, None, 0.95)
    common = {
        "kind": "regression",
        "run_ref": "run:p.c",
        "metric": "m",
        "slice": None,
        "baseline_ref": "run:p.b",
        "candidate_value": 1 + change,
        "baseline_value": 1.0,
        "direction": "higher is better (argument)",
        "limit": "worse by at most 2.00%",
        "value_source": "evaluate",
        "stage": None,
    }
    from pytest_contexta.checks.regression import compare

    return Assessment(
        "m",
        common,
        [],
        lookup,
        lookup,
        compare(1.0, 1 + change, "higher", 0.02, None),
        Estimate(found, "standard errors (normal)", 100, 100),
        0.02,
        p_beyond,
    )


@pytest.mark.parametrize(
    ("correction", "outcomes"),
    [
        ("holm", ["inconclusive", "inconclusive", "inconclusive"]),
        ("bh", ["failed", "failed", "failed"]),
    ],
)
def test_a_family_of_slices_corrects_its_fail_calls(
    seeded: dict[str, ContextaRun], correction: str, outcomes: list[str]
) -> None:
    # Each worsening 0.041 ± 0.0196 lies wholly beyond 0.02 on its own (p 0.018 < 0.025); Holm multiplies
    # the smallest p by 3, BH keeps 0.018 when all three are equal.
    lookup = find_metric(seeded["release-5"], "ndcg", "evaluate")
    p_beyond = interval(-0.041, 0.01, None, 0.95).p_beyond(0.041, 0.02)
    family = [_assessment(p_beyond, 0.041, lookup) for _ in range(3)]
    assert [v.result.outcome for v in judge_comparisons(family, 0.95, correction)] == outcomes
    assert [v.result.outcome for v in judge_comparisons(family[:1], 0.95, correction)] == ["failed"]


# -- assert_within_history ------------------------------------------------------------------------


def test_within_history_uses_the_median_and_mad(
    seeded: dict[str, ContextaRun], history: list[ContextaRun], results: list[CheckResult]
) -> None:
    assert_within_history(seeded["seeds-within-noise"], history, "accuracy", stage="evaluate")
    with pytest.raises(
        GateCheckFailed,
        match=r"history median 0.898 of 5 runs, robust SD 0.00297 \(1.4826·MAD\); "
        r"worse by 0.038 = 12.82 robust SD; allowed at most 3 \(0.0089\)",
    ):
        assert_within_history(seeded["seeds-regressed"], history, "accuracy", stage="evaluate")
    assert [r.outcome for r in results] == ["passed", "failed"]


def test_within_history_with_fewer_than_three_values_is_inconclusive(
    seeded: dict[str, ContextaRun], history: list[ContextaRun], results: list[CheckResult]
) -> None:
    with pytest.raises(GateCheckFailed, match="INCONCLUSIVE, 2 usable values in 3 history runs; at least 3 are"):
        assert_within_history(
            seeded["seeds-regressed"], [seeded["seeds-regressed"], *history[:2]], "accuracy", stage="evaluate"
        )
    assert results[0].outcome == "inconclusive"
