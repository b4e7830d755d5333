"""The assertion helpers on real runs: what passes, what fails, and what the messages say.

Runs used (see tests/workspaces/generate.py):

* ``latency``: ``svc.baseline`` (deployed), ``faster``, ``slower``, ``mixed``; ``val-loss`` in train,
  ``accuracy``, ``latency-p95-ms`` and ``error-count`` (0 in the baseline) in evaluate.
* ``conformance``: ``shop-ranker.candidate`` logs several metrics twice in evaluate, with mixed
  whole/fractional-second times; ``train-only`` has its evaluate metrics in train; ``failed-run``
  has a failed evaluate stage and an error-severity DegradedRecord.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conftest import WORKSPACES
from pytest_contexta import (
    CheckArgumentError,
    ContextaRun,
    GateCheckFailed,
    Workspace,
    assert_metric_threshold,
    assert_metrics_present,
    assert_no_error_diagnostics,
    assert_no_regression,
    find_metric,
)
from pytest_contexta.checks.results import CheckContext, CheckResult, recording


def _load(name: str, refs: list[str]) -> Iterator[dict[str, ContextaRun]]:
    workspace = Workspace(WORKSPACES / name)
    try:
        yield {ref.rpartition(".")[2]: workspace.load_run(ref) for ref in refs}
    finally:
        workspace.close()


@pytest.fixture(scope="module")
def svc() -> Iterator[dict[str, ContextaRun]]:
    yield from _load("latency", [f"run:svc.{name}" for name in ("baseline", "faster", "slower", "mixed")])


@pytest.fixture(scope="module")
def shop() -> Iterator[dict[str, ContextaRun]]:
    yield from _load(
        "conformance",
        [
            f"run:shop-ranker.{name}"
            for name in ("baseline", "candidate", "train-only", "failed-run", "no-stages", "open-run")
        ],
    )


def _message(excinfo: pytest.ExceptionInfo[GateCheckFailed]) -> str:
    return str(excinfo.value)


# -- assert_metrics_present ---------------------------------------------------------------------


def test_metrics_present_in_stage(shop: dict[str, ContextaRun], results: list[CheckResult]) -> None:
    assert_metrics_present(shop["baseline"], ["accuracy", "auc", "latency-p95-ms"], stage="evaluate")
    assert [(r.metric, r.passed, r.candidate_value, r.stage) for r in results] == [
        ("accuracy", True, 0.9, "evaluate"),
        ("auc", True, 0.93, "evaluate"),
        ("latency-p95-ms", True, 40.0, "evaluate"),
    ]
    assert results[0].detail == "accuracy = 0.9 (evaluate)"


def test_metric_only_in_another_stage_does_not_count(shop: dict[str, ContextaRun], results: list[CheckResult]) -> None:
    with pytest.raises(GateCheckFailed) as excinfo:
        assert_metrics_present(shop["train-only"], ["accuracy", "auc"], stage="evaluate")
    assert _message(excinfo) == (
        "run:shop-ranker.train-only lacks 2 required metric(s) in stage 'evaluate':\n"
        "  accuracy: not recorded in stage 'evaluate'; found in train\n"
        "  auc: not recorded in stage 'evaluate'; found in train"
    )
    assert [r.passed for r in results] == [False, False]


def test_without_stage_a_metric_of_the_only_stage_counts(shop: dict[str, ContextaRun]) -> None:
    assert_metrics_present(shop["train-only"], "accuracy")


def test_metric_of_a_failed_stage_does_not_count(shop: dict[str, ContextaRun]) -> None:
    with pytest.raises(GateCheckFailed, match="accuracy: stage 'evaluate' is failed, so its metrics do not count"):
        assert_metrics_present(shop["failed-run"], "accuracy", stage="evaluate")


@pytest.mark.parametrize(
    ("run", "key", "problem"),
    [
        ("failed-run", "accuracy", "stage 'evaluate' is failed, so its metrics do not count"),
        ("open-run", "loss", "stage 'train' is open, so its metrics do not count"),
    ],
)
def test_without_stage_the_only_stage_must_be_completed(
    shop: dict[str, ContextaRun], results: list[CheckResult], run: str, key: str, problem: str
) -> None:
    lookup = find_metric(shop[run], key)
    assert (lookup.value, lookup.record, lookup.problem, lookup.stage) == (None, None, problem, None)
    with pytest.raises(GateCheckFailed) as excinfo:
        assert_metrics_present(shop[run], key)
    assert _message(excinfo).splitlines()[1:] == [f"  {key}: {problem}"]
    with pytest.raises(GateCheckFailed, match=f"^{shop[run].ref}: {key}: {problem}$"):
        assert_metric_threshold(shop[run], key, at_least=0)
    assert [(r.kind, r.passed, r.stage, r.candidate_value) for r in results] == [
        ("metrics_present", False, None, None),
        ("threshold", False, None, None),
    ]


def test_without_stage_a_completed_stage_of_a_failed_run_still_counts(shop: dict[str, ContextaRun]) -> None:
    lookup = find_metric(shop["failed-run"], "loss")
    assert (lookup.value, lookup.scope, lookup.problem) == (0.45, "train", None)


def test_without_stage_the_only_stage_must_be_in_the_ledger(svc: dict[str, ContextaRun]) -> None:
    run = svc["faster"]
    without_evaluate = run.model_copy(update={"stages": tuple(s for s in run.stages if s.name != "evaluate")})
    assert find_metric(run, "accuracy").value == 0.9
    lookup = find_metric(without_evaluate, "accuracy")
    assert (lookup.value, lookup.problem) == (
        None,
        "the run has no stage 'evaluate' (records name it, but the stage was never recorded in the ledger)",
    )
    assert find_metric(without_evaluate, "val-loss").value == find_metric(run, "val-loss").value


def test_metric_of_a_missing_stage(shop: dict[str, ContextaRun]) -> None:
    with pytest.raises(GateCheckFailed, match=r"accuracy: the run has no stage 'evaluate'$"):
        assert_metrics_present(shop["no-stages"], "accuracy", stage="evaluate")


def test_missing_metric_without_stage(shop: dict[str, ContextaRun]) -> None:
    with pytest.raises(GateCheckFailed) as excinfo:
        assert_metrics_present(shop["baseline"], ["accuracy", "f1"])
    assert _message(excinfo) == "run:shop-ranker.baseline lacks 1 required metric(s):\n  f1: not recorded"


@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        ([], "the metric list is empty"),
        ("val_loss", r"'val_loss' cannot be a Contexta metric key.*did you mean 'val-loss'\?"),
        (["Accuracy"], r"'Accuracy' cannot be a Contexta metric key.*did you mean 'accuracy'\?"),
    ],
)
def test_metrics_present_rejects_impossible_keys(shop: dict[str, ContextaRun], metrics: object, message: str) -> None:
    with pytest.raises(CheckArgumentError, match=message):
        assert_metrics_present(shop["baseline"], metrics)  # type: ignore[arg-type]


def test_helpers_reject_things_that_are_not_runs() -> None:
    with pytest.raises(
        CheckArgumentError, match="run must be a run from the contexta_run or baseline_run fixture, not str"
    ):
        assert_metrics_present("run:svc.slower", "accuracy")  # type: ignore[arg-type]


def test_bad_stage_name_is_rejected(shop: dict[str, ContextaRun]) -> None:
    with pytest.raises(CheckArgumentError, match="stage 'Evaluate' cannot be a Contexta stage name"):
        assert_metrics_present(shop["baseline"], "accuracy", stage="Evaluate")


# -- the value that counts ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("accuracy", 0.93, "10:00:00.5 is later than 10:00:00 (Contexta's string order keeps 0.91)"),
        ("auc", 0.95, "the later observation wins although it was appended first"),
        ("f1", 0.82, "same observed_at: the later append wins"),
        ("latency-p95-ms", 41.0, "11:00 beats 10:45, appended after it"),
    ],
)
def test_latest_value_by_real_time_then_by_append_order(
    shop: dict[str, ContextaRun], key: str, value: float, why: str
) -> None:
    run = shop["candidate"]
    assert len([m for m in run.metrics if m.key == key and m.stage_name == "evaluate"]) == 2
    lookup = find_metric(run, key, "evaluate")
    assert lookup.value == value, why
    assert_metric_threshold(run, key, at_least=value, at_most=value, stage="evaluate")


def test_latest_step_value_of_a_stage(shop: dict[str, ContextaRun]) -> None:
    """loss was logged at 09:30 (0.52) and 10:00 (0.41) in train."""
    assert find_metric(shop["baseline"], "loss", "train").value == 0.41


def test_run_level_value_is_used_without_stage(shop: dict[str, ContextaRun]) -> None:
    lookup = find_metric(shop["baseline"], "train-time-s")
    assert (lookup.value, lookup.scope) == (3600.0, "run level")


def test_key_in_several_stages_needs_a_stage(shop: dict[str, ContextaRun]) -> None:
    """shop-ranker.candidate also logged accuracy on a stage ref ``evaluat`` that has no stage row."""
    with pytest.raises(GateCheckFailed, match=r"recorded in several stages \(evaluat, evaluate\); pass stage="):
        assert_metrics_present(shop["candidate"], "accuracy")


# -- assert_no_regression -----------------------------------------------------------------------


def test_latency_that_rose_fails_and_says_lower_is_better(
    svc: dict[str, ContextaRun], results: list[CheckResult]
) -> None:
    with pytest.raises(GateCheckFailed) as excinfo:
        assert_no_regression(svc["slower"], svc["baseline"], "latency-p95-ms", stage="evaluate")
    assert _message(excinfo) == (
        "run:svc.slower vs baseline run:svc.baseline in stage 'evaluate':\n"
        "  FAIL latency-p95-ms: 40 -> 52, change +12 (+30.00%), lower is better (built-in: name part 'latency'); "
        "allowed: worse by at most 2.00%; no noise estimate; values from evaluate"
    )
    (result,) = results
    assert (result.passed, result.baseline_value, result.candidate_value, result.change_abs) == (False, 40, 52, 12)
    assert result.change_rel == pytest.approx(0.3)
    assert result.direction == "lower is better (built-in: name part 'latency')"
    assert result.baseline_ref == "run:svc.baseline"


def test_latency_that_fell_passes(svc: dict[str, ContextaRun], results: list[CheckResult]) -> None:
    assert_no_regression(svc["faster"], svc["baseline"], ["latency-p95-ms", "val-loss"], max_drop=0.0)
    assert [(r.metric, r.passed, r.candidate_value) for r in results] == [
        ("latency-p95-ms", True, 30.0),
        ("val-loss", True, 0.27),
    ]


def test_loss_that_rose_fails(svc: dict[str, ContextaRun]) -> None:
    with pytest.raises(
        GateCheckFailed,
        match=r"FAIL val-loss: 0\.3 -> 0\.36, change \+0\.06 \(\+20\.00%\), "
        r"lower is better \(built-in: name part 'loss'\)",
    ):
        assert_no_regression(svc["slower"], svc["baseline"], "val-loss", stage="train")


def test_every_metric_is_reported_even_when_one_fails(svc: dict[str, ContextaRun]) -> None:
    with pytest.raises(GateCheckFailed) as excinfo:
        assert_no_regression(svc["slower"], svc["baseline"], ["accuracy", "latency-p95-ms"], stage="evaluate")
    lines = _message(excinfo).splitlines()
    assert lines[1].startswith(
        "  ok   accuracy: 0.9 -> 0.91, change +0.01 (+1.11%), higher is better (built-in: name part 'accuracy')"
    )
    assert lines[2].startswith("  FAIL latency-p95-ms: 40 -> 52")


@pytest.mark.parametrize(
    ("limits", "passed"),
    [
        ({"max_drop": 0.06}, True),  # -5.56 % allowed
        ({"max_drop": 0.05}, False),
        ({"max_drop": None, "max_abs_drop": 0.06}, True),  # -0.05 allowed
        ({"max_drop": None, "max_abs_drop": 0.04}, False),
        ({"max_drop": 0.1, "max_abs_drop": 0.01}, False),  # both must hold
        ({"max_drop": 0.01, "max_abs_drop": 0.1}, False),
        ({"max_drop": 0.1, "max_abs_drop": 0.1}, True),
    ],
)
def test_relative_and_absolute_limits(
    svc: dict[str, ContextaRun], limits: dict[str, float | None], passed: bool
) -> None:
    """mixed: accuracy 0.9 -> 0.85, i.e. -0.05 or -5.56 %."""
    if passed:
        assert_no_regression(svc["mixed"], svc["baseline"], "accuracy", stage="evaluate", **limits)
        return
    with pytest.raises(GateCheckFailed, match=r"FAIL accuracy: 0.9 -> 0.85, change -0.05 \(-5.56%\)"):
        assert_no_regression(svc["mixed"], svc["baseline"], "accuracy", stage="evaluate", **limits)


def test_limit_text_names_both_limits(svc: dict[str, ContextaRun], results: list[CheckResult]) -> None:
    assert_no_regression(svc["mixed"], svc["baseline"], "accuracy", max_drop=0.1, max_abs_drop=0.06)
    assert results[0].limit == "worse by at most 10.00% and worse by at most 0.06"


def test_limits_hold_exactly_at_the_boundary(svc: dict[str, ContextaRun]) -> None:
    """val-loss 0.3 -> 0.36 is +20 % in floating point arithmetic that is not exact."""
    assert_no_regression(svc["slower"], svc["baseline"], "val-loss", max_drop=0.2)
    assert_no_regression(svc["slower"], svc["baseline"], "val-loss", max_drop=None, max_abs_drop=0.06)


def test_baseline_value_zero_does_not_crash(svc: dict[str, ContextaRun], results: list[CheckResult]) -> None:
    """error-count is 0 in the baseline: any rise breaks a relative limit, an absolute one still works."""
    assert_no_regression(svc["faster"], svc["baseline"], "error-count", stage="evaluate")
    with pytest.raises(GateCheckFailed) as excinfo:
        assert_no_regression(svc["slower"], svc["baseline"], "error-count", stage="evaluate", max_drop=0.5)
    assert (
        "FAIL error-count: 0 -> 3, change +3 (n/a: baseline is 0), lower is better (built-in: name part 'error')"
    ) in _message(excinfo)
    assert results[-1].change_rel is None
    assert_no_regression(svc["slower"], svc["baseline"], "error-count", stage="evaluate", max_drop=None, max_abs_drop=5)


def test_zero_baseline_with_a_higher_is_better_metric(svc: dict[str, ContextaRun]) -> None:
    """Told error-count is higher-is-better, a rise from 0 is an improvement."""
    assert_no_regression(svc["slower"], svc["baseline"], "error-count", direction="higher")


def test_direction_argument_as_string_and_mapping(svc: dict[str, ContextaRun]) -> None:
    """accuracy fell 0.9 -> 0.85: a regression unless lower is better."""
    with pytest.raises(GateCheckFailed, match=r"higher is better \(built-in: name part 'accuracy'\)"):
        assert_no_regression(svc["mixed"], svc["baseline"], "accuracy")
    assert_no_regression(svc["mixed"], svc["baseline"], "accuracy", direction="lower")
    assert_no_regression(svc["mixed"], svc["baseline"], ["accuracy", "latency-p95-ms"], direction={"accuracy": "lower"})
    with pytest.raises(
        GateCheckFailed,
        match=r"FAIL latency-p95-ms: 40 -> 38, change -2 \(-5.00%\), higher is "
        r"better \(direction argument\)",
    ):
        assert_no_regression(svc["mixed"], svc["baseline"], "latency-p95-ms", direction={"latency-p95-ms": "higher"})


def test_ini_patterns_reach_the_helper_through_the_check_context(svc: dict[str, ContextaRun]) -> None:
    with recording(CheckContext(lower_is_better=("acc*",))):
        assert_no_regression(svc["mixed"], svc["baseline"], "accuracy")
    with (
        recording(CheckContext(higher_is_better=("latency-*",))),
        pytest.raises(GateCheckFailed, match=r"higher is better \(ini contexta_higher_is_better 'latency-\*'\)"),
    ):
        assert_no_regression(svc["mixed"], svc["baseline"], "latency-p95-ms")


@pytest.mark.parametrize(
    ("candidate", "baseline", "metric", "problem"),
    [
        ("baseline", "candidate", "f1", "candidate: not recorded in stage 'evaluate'"),
        ("candidate", "baseline", "f1", "baseline: not recorded in stage 'evaluate'"),
        ("train-only", "baseline", "accuracy", "candidate: not recorded in stage 'evaluate'; found in train"),
        ("failed-run", "baseline", "accuracy", "candidate: stage 'evaluate' is failed, so its metrics do not count"),
    ],
)
def test_metric_missing_on_either_side_fails(
    shop: dict[str, ContextaRun], candidate: str, baseline: str, metric: str, problem: str
) -> None:
    with pytest.raises(GateCheckFailed) as excinfo:
        assert_no_regression(shop[candidate], shop[baseline], metric, stage="evaluate")
    assert f"  {metric}: cannot compare ({problem})" in _message(excinfo).splitlines()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_drop": None}, "give max_drop, max_abs_drop or both"),
        ({"max_drop": -0.1}, "max_drop must be a finite number >= 0, not -0.1"),
        ({"max_abs_drop": float("nan")}, "max_abs_drop must be a finite number >= 0, not nan"),
        ({"max_drop": True}, "max_drop must be a finite number >= 0, not True"),
        ({"direction": "up"}, "direction must be 'higher' or 'lower', not 'up'"),
    ],
)
def test_regression_rejects_meaningless_arguments(
    svc: dict[str, ContextaRun], kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(CheckArgumentError, match=message.replace("(", r"\(")):
        assert_no_regression(svc["slower"], svc["baseline"], "accuracy", **kwargs)  # type: ignore[arg-type]


def test_candidate_cannot_be_its_own_baseline(svc: dict[str, ContextaRun]) -> None:
    with pytest.raises(CheckArgumentError, match=r"candidate and baseline are the same run \(run:svc.slower\)"):
        assert_no_regression(svc["slower"], svc["slower"], "accuracy")


# -- assert_metric_threshold --------------------------------------------------------------------


def test_threshold_within_bounds(svc: dict[str, ContextaRun], results: list[CheckResult]) -> None:
    assert_metric_threshold(svc["slower"], "accuracy", at_least=0.9, stage="evaluate")
    assert_metric_threshold(svc["slower"], "latency-p95-ms", at_most=52, stage="evaluate")
    assert_metric_threshold(svc["slower"], "accuracy", at_least=0.9, at_most=0.95)
    assert [r.limit for r in results] == [">= 0.9", "<= 52", ">= 0.9 and <= 0.95"]


def test_threshold_outside_bounds(svc: dict[str, ContextaRun]) -> None:
    with pytest.raises(GateCheckFailed) as excinfo:
        assert_metric_threshold(svc["slower"], "latency-p95-ms", at_most=50, stage="evaluate")
    assert _message(excinfo) == "run:svc.slower in stage 'evaluate': latency-p95-ms = 52 (evaluate); required <= 50"
    with pytest.raises(GateCheckFailed, match=r"accuracy = 0.85 \(evaluate\); required >= 0.88"):
        assert_metric_threshold(svc["mixed"], "accuracy", at_least=0.88)


def test_threshold_on_a_missing_metric_fails(svc: dict[str, ContextaRun]) -> None:
    with pytest.raises(
        GateCheckFailed,
        match=r"run:svc.slower in stage 'evaluate': val-loss: not recorded in "
        r"stage 'evaluate'; found in train",
    ):
        assert_metric_threshold(svc["slower"], "val-loss", at_most=1, stage="evaluate")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "give at_least, at_most or both"),
        ({"at_least": 0.9, "at_most": 0.8}, r"at_least \(0.9\) is above at_most \(0.8\)"),
        ({"at_least": float("inf")}, "at_least must be a finite number, not inf"),
    ],
)
def test_threshold_rejects_meaningless_bounds(
    svc: dict[str, ContextaRun], kwargs: dict[str, float], message: str
) -> None:
    with pytest.raises(CheckArgumentError, match=message):
        assert_metric_threshold(svc["slower"], "accuracy", **kwargs)


# -- assert_no_error_diagnostics ----------------------------------------------------------------


def test_clean_run_passes_and_counts_what_it_saw(shop: dict[str, ContextaRun], results: list[CheckResult]) -> None:
    assert_no_error_diagnostics(shop["baseline"])
    assert results[0].detail == "no error diagnostics (0 warning, 1 info)"


def test_error_diagnostics_fail_and_are_listed(shop: dict[str, ContextaRun]) -> None:
    with pytest.raises(GateCheckFailed) as excinfo:
        assert_no_error_diagnostics(shop["candidate"])
    assert _message(excinfo).splitlines() == [
        "run:shop-ranker.candidate has 2 error diagnostic(s):",
        "  failed_batch [batch:shop-ranker.candidate.evaluate.shard-1]: batch shard-1 failed",
        "  failed_deployment [deployment:shop-ranker.canary]: deployment canary failed",
        "Waive a code only when it is known to be harmless: assert_no_error_diagnostics(run, ignore=[...])",
    ]


def test_stricter_than_contexta_is_said(shop: dict[str, ContextaRun]) -> None:
    with pytest.raises(GateCheckFailed) as excinfo:
        assert_no_error_diagnostics(shop["failed-run"])
    message = _message(excinfo)
    assert (
        "  degraded_record [record:shop-ranker.failed-run.r0003]; Contexta says warning: "
        "degraded record detected for data.schema_mismatch"
    ) in message
    assert "  run_not_completed [run:shop-ranker.failed-run]: run failed-run is failed, not completed" in message


def test_ignore_waives_listed_codes_only(shop: dict[str, ContextaRun], results: list[CheckResult]) -> None:
    with pytest.raises(GateCheckFailed) as excinfo:
        assert_no_error_diagnostics(shop["candidate"], ignore=["failed_batch"])
    assert "failed_batch" not in _message(excinfo)
    assert "run:shop-ranker.candidate has 1 error diagnostic(s)" in _message(excinfo)
    assert_no_error_diagnostics(shop["candidate"], ignore=["failed_batch", "failed_deployment"])
    assert_no_error_diagnostics(shop["open-run"], ignore="run_not_completed")
    assert results[-2].detail == "no error diagnostics (3 warning, 1 info, 2 error(s) waived)"
    assert results[-1].passed


# -- in a gate session ---------------------------------------------------------------------------


@pytest.mark.slow
def test_helpers_in_a_gate_show_their_numbers_in_the_summary(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest
        from pytest_contexta import (assert_metric_threshold, assert_metrics_present,
                                     assert_no_error_diagnostics, assert_no_regression)

        def test_diagnostics(contexta_run):
            assert_no_error_diagnostics(contexta_run)

        def test_present(contexta_run):
            assert_metrics_present(contexta_run, ["accuracy", "latency-p95-ms"], stage="evaluate")

        @pytest.mark.parametrize("metric", ["accuracy", "latency-p95-ms"])
        def test_no_regression(contexta_run, baseline_run, metric):
            assert_no_regression(contexta_run, baseline_run, metric, stage="evaluate")

        def test_threshold(contexta_run):
            assert_metric_threshold(contexta_run, "error-count", at_most=0, stage="evaluate")
    """)
    result = pytester.runpytest(f"--contexta-workspace={WORKSPACES / 'latency'}", "--contexta-candidate=slower")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(
        [
            "E * FAIL latency-p95-ms: 40 -> 52, change +12 (+30.00%), lower is better (built-in: name part 'latency'); "
            "allowed: worse by at most 2.00%; no noise estimate; the history has 1 usable value, 3 are needed; "
            "values from evaluate",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "candidate: run:svc.slower",
            "baseline:  run:svc.baseline — deployed as prod *",
            "test_no_regression[[]latency-p95-ms[]] *FAIL*latency-p95-ms @evaluate*52*40*+12 (+30.00%)*"
            "lower is better (built-in: name part 'latency') · trend 40 (prod) ▁ → █ 52 (candidate)",
            "test_threshold * FAIL * error-count @evaluate * 3 * <= 0 *error-count = 3 (evaluate); required <= 0",
            "GATE FAILED for run:svc.slower: 2 of 5 gate checks did not pass",
        ]
    )
